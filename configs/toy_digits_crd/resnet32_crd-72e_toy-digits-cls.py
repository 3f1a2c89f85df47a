# The toy CRD teacher: CRD's resnet32, the resnet32x4 teacher of the
# official resnet32x4 -> resnet8x4 pair at a quarter of its width, trained
# 1.5x as long as the students (72 epochs, the lr steps at 45/54/63).
_base_ = [
    './_base_/crd-recipe_48e_toy-digits-cls.py',
    './_base_/cifar-classifier_toy-digits-cls.py',
]

model = dict(
    backbone=dict(type='mmkd.CIFARResNet', arch='resnet32'),
    head=dict(in_channels=64))
max_epochs = 72
param_scheduler = dict(milestones=[45, 54, 63])
train_cfg = dict(max_epochs=max_epochs, val_interval=18)
# Every 18 epochs, to read the teacher's val curve afterwards.
default_hooks = dict(
    checkpoint=dict(interval=18, max_keep_ckpts=-1))
