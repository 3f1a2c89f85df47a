# The toy CRD teacher: the resnet32 of
# ./resnet32_crd-72e_toy-digits-cls.py trained twice as long (144 epochs,
# the lr steps at 90/108/126: 150/180/210 of 240 scaled) with Mixup (alpha
# 1, as mmpretrain's CIFAR configs). The 72-epoch teacher memorises the 3000
# training crops (train loss 0.009) and ends at val 81.4, and distilled
# 48-epoch resnet8 students reached it (val 83.1-83.4,
# tools/benchmarks/results/toy_crd_study/teacher_resnet32_72e/); Mixup is
# what made the toy cls teacher a teacher (../toy_digits_cls/README.md).
# Val every 18 epochs: 12.1 / 73.6 / 76.3 / 82.8 / 83.2 / 87.7 / 87.0 (epochs
# 18-126); a resnet56 with Mixup at 72 epochs, tried beside it, read 11.8 /
# 65.7 / 83.9 / 84.4 (epochs 18-72) and was dropped.
_base_ = ['./resnet32_crd-72e_toy-digits-cls.py']

model = dict(
    # Mixup turns the labels into scores: the soft cross-entropy reads them.
    head=dict(loss=dict(use_soft=True)),
    train_cfg=dict(augments=dict(type='Mixup', alpha=1.0)))
max_epochs = 144
param_scheduler = dict(milestones=[90, 108, 126])
train_cfg = dict(max_epochs=max_epochs, val_interval=18)
default_hooks = dict(checkpoint=dict(interval=36, max_keep_ckpts=-1))
