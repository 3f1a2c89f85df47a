# The toy CRD student trained alone: CRD's resnet8, the resnet8x4 student of
# the official resnet32x4 -> resnet8x4 pair at a quarter of its width
# (16/32/64 channels), on the shortened CRD recipe.
_base_ = [
    './_base_/crd-recipe_48e_toy-digits-cls.py',
    './_base_/cifar-classifier_toy-digits-cls.py',
]

model = dict(
    backbone=dict(type='mmkd.CIFARResNet', arch='resnet8'),
    head=dict(in_channels=64))
