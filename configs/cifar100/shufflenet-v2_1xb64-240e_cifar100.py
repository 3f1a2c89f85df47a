# ShuffleV2 of the CRD CIFAR-100 zoo trained alone with the CRD recipe
# (CRD README: 71.82 top-1); lr 0.01,
# as CRD uses for MobileNetV2 and ShuffleNets.
_base_ = [
    './_base_/crd-recipe_1xb64-240e_cifar100.py',
    './_base_/cifar-classifier.py',
]

model = dict(
    backbone=dict(type='mmkd.CIFARShuffleNetV2'),
    head=dict(in_channels=1024))
optim_wrapper = dict(optimizer=dict(lr=0.01))
