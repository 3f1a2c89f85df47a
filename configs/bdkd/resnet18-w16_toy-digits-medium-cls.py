# Toy teacher trained alone (ResNet_CIFAR-18 width 16, 30 epochs) on the
# 'medium' toy digits crops; the offline KD row distils it.
_base_ = ['../toy_digits_cls/resnet18-w16_toy-digits-cls.py']

data_root = 'data/toy_digits_medium/cls'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
