# Toy student trained alone (ResNet_CIFAR-18 width 8, 20 epochs) on the
# 'medium' toy digits crops, the data of the online-distillation comparison:
#   python tools/make_toy_data.py --cls-only --difficulty medium \
#       --out-dir data/toy_digits_medium
# On the default 'hard' crops both networks of an online run sit at chance
# for about half of the 20 epochs (see README.md), which drowns the
# comparison in the luck of leaving that plateau. The BD-KD toy configs
# inherit this file.
_base_ = ['../toy_digits_cls/resnet18-w8_toy-digits-cls.py']

data_root = 'data/toy_digits_medium/cls'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
