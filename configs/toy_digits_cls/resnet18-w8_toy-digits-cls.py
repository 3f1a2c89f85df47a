# Toy student trained alone: ResNet_CIFAR-18 at width 8.
_base_ = [
    './_base_/resnet-cifar_toy-digits-cls.py',
    './_base_/toy-digits-cls_runtime.py',
]
