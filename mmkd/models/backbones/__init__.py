# Copyright (c) OpenMMLab. All rights reserved.
from .cifar_checkpoint import (CIFAR_ARCHS, cifar_classifier_cfg,
                               mmkd_to_official, official_arch_of,
                               official_to_mmkd)
from .cifar_mobilenetv2 import CIFARMobileNetV2
from .cifar_resnet import CIFARResNet
from .cifar_resnet_v2 import CIFARResNetV2
from .cifar_shufflenetv1 import CIFARShuffleNetV1
from .cifar_shufflenetv2 import CIFARShuffleNetV2
from .cifar_vgg import CIFARVGG
from .cifar_wrn import CIFARWideResNet
from .conv_stem_vit import ConvStem, ConvStemViT
from .mobilenet_v1 import MobileNetV1

__all__ = [
    'CIFAR_ARCHS', 'CIFARMobileNetV2', 'CIFARResNet', 'CIFARResNetV2',
    'CIFARShuffleNetV1', 'CIFARShuffleNetV2', 'CIFARVGG', 'CIFARWideResNet',
    'ConvStem', 'ConvStemViT', 'MobileNetV1', 'cifar_classifier_cfg',
    'mmkd_to_official', 'official_arch_of', 'official_to_mmkd'
]
