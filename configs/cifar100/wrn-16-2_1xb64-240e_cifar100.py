# wrn_16_2 of the CRD CIFAR-100 zoo trained alone with the CRD recipe
# (CRD README: 73.26 top-1).
_base_ = [
    './_base_/crd-recipe_1xb64-240e_cifar100.py',
    './_base_/cifar-classifier.py',
]

model = dict(
    backbone=dict(type='mmkd.CIFARWideResNet', arch='wrn_16_2'),
    head=dict(in_channels=128))
