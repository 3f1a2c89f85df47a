# A stronger toy CRD teacher candidate: CRD's resnet56 (the official
# resnet56 -> resnet20 teacher, at the CIFAR zoo's own widths 16/16/32/64)
# trained 72 epochs with Mixup (alpha 1); see
# ./resnet32_crd-144e-mixup_toy-digits-cls.py for why the 72-epoch resnet32
# is not teacher enough.
_base_ = ['./resnet32_crd-72e_toy-digits-cls.py']

model = dict(
    backbone=dict(arch='resnet56'),
    head=dict(loss=dict(use_soft=True)),
    train_cfg=dict(augments=dict(type='Mixup', alpha=1.0)))
