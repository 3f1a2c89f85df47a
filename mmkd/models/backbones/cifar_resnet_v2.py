# Copyright (c) OpenMMLab. All rights reserved.
"""The CIFAR ResNet18 / ResNet50 of mdistiller (``resnetv2.py``).

The ImageNet-width ResNets that CRD, mdistiller and the official WKD code
use on CIFAR (``mdistiller/models/cifar/resnetv2.py``, model names
``ResNet18`` and ``ResNet50``): a 3x3 stride-1 stem of 64 channels (no
max-pool), four stages of basic blocks [2, 2, 2, 2] or bottlenecks
[3, 4, 6, 3] of widths 64, 128, 256, 512 (expansion 1 or 4) with strides
1, 2, 2, 2. A 32x32 image gives (512, 4, 4) / (2048, 4, 4) after
``layer4``.

mmpretrain's ``ResNet_CIFAR`` has the same structure but other module
names; this backbone keeps the official ones (``conv1``, ``bn1``,
``layer1.0.conv1``, ``layer2.0.shortcut.0`` ...), so an official state
dict maps onto it by a prefix change
(:mod:`mmkd.models.backbones.cifar_checkpoint`).
"""
from typing import Dict, Optional, Sequence, Tuple, Type, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmkd.registry import MODELS

__all__ = ['CIFARResNetV2', 'PlainBasicBlock', 'PlainBottleneck']


def _projection(in_channels: int, out_channels: int, stride: int,
                norm_cfg: dict) -> Optional[nn.Sequential]:
    """The 1x1 projection shortcut, or None when the identity fits."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv2d(
            in_channels, out_channels, kernel_size=1, stride=stride,
            bias=False),
        build_norm_layer(norm_cfg, out_channels)[1])


class PlainBasicBlock(BaseModule):
    """Basic block: 3x3 (stride) + BN + ReLU, 3x3 + BN, plus shortcut,
    ReLU.

    Args:
        in_channels (int): Input channels.
        planes (int): Width (= output channels, expansion 1).
        stride (int): Stride of the first conv and the shortcut.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    expansion = 1

    def __init__(self,
                 in_channels: int,
                 planes: int,
                 stride: int = 1,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.conv1 = nn.Conv2d(
            in_channels, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, planes)[1]
        self.conv2 = nn.Conv2d(
            planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, planes)[1]
        self.shortcut = _projection(in_channels, planes, stride, norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """Run the block.

        Args:
            x (torch.Tensor): Input of shape (N, C_in, H, W).

        Returns:
            torch.Tensor: Post-ReLU output (N, planes, H / s, W / s).
        """
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + identity)


class PlainBottleneck(BaseModule):
    """Bottleneck: 1x1 + BN + ReLU, 3x3 (stride) + BN + ReLU,
    1x1 (x4) + BN, plus shortcut, ReLU.

    Args:
        in_channels (int): Input channels.
        planes (int): Width of the 3x3 conv; the output has ``4 * planes``
            channels.
        stride (int): Stride of the 3x3 conv and the shortcut.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    expansion = 4

    def __init__(self,
                 in_channels: int,
                 planes: int,
                 stride: int = 1,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, planes)[1]
        self.conv2 = nn.Conv2d(
            planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, planes)[1]
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = build_norm_layer(norm_cfg, out_channels)[1]
        self.shortcut = _projection(in_channels, out_channels, stride,
                                    norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """Run the block.

        Args:
            x (torch.Tensor): Input of shape (N, C_in, H, W).

        Returns:
            torch.Tensor: Post-ReLU output (N, 4 * planes, H / s, W / s).
        """
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + identity)


#: arch -> (block, blocks per stage), official ``ResNet18`` / ``ResNet50``.
ARCH_SETTINGS: Dict[str, Tuple[Type[BaseModule], Tuple[int, ...]]] = {
    'resnet18': (PlainBasicBlock, (2, 2, 2, 2)),
    'resnet50': (PlainBottleneck, (3, 4, 6, 3)),
}


@MODELS.register_module()
class CIFARResNetV2(BaseModule):
    """mdistiller's CIFAR ``ResNet18`` / ``ResNet50`` (``resnetv2.py``).

    ``conv1`` (3x3, 64 channels, stride 1) + ``bn1`` + ReLU, then
    ``layer1`` .. ``layer4`` (strides 1, 2, 2, 2). ``out_indices`` 0-3 are
    the post-ReLU stage outputs. With
    ``neck=dict(type='GlobalAveragePooling')`` and a ``LinearClsHead``
    this is the official network (its ``AdaptiveAvgPool2d(1)`` +
    ``linear``).

    The official ``feats[-1]`` (what WKD distils) is the ``layer4`` output,
    (512, 4, 4) / (2048, 4, 4) at 32x32: the last output of this backbone,
    so :attr:`DISTILL_STAGE` is None.

    Example:
        >>> import torch
        >>> model = CIFARResNetV2('resnet18')
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 32, 32))]
        [(1, 512, 4, 4)]

    Args:
        arch (str): ``'resnet18'`` or ``'resnet50'``.
        out_indices (Sequence[int]): Stages (0-3) whose outputs are
            returned. Defaults to ``(3,)``.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to the official one: Kaiming normal (fan-out, ReLU) for
            convolutions, weight 1 and bias 0 for BN.
    """

    #: Submodule whose output is the official ``feats[-1]``; None: the last
    #: output of the backbone (``layer4``, post-ReLU).
    DISTILL_STAGE: Optional[str] = None

    def __init__(self,
                 arch: str,
                 out_indices: Sequence[int] = (3, ),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[Union[dict, list]] = [
                     dict(
                         type='Kaiming',
                         layer='Conv2d',
                         mode='fan_out',
                         nonlinearity='relu'),
                     dict(
                         type='Constant',
                         val=1,
                         bias=0,
                         layer=['_BatchNorm', 'GroupNorm'])
                 ]) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'Unknown CIFARResNetV2 arch {arch!r}; valid '
                             f'archs are {sorted(ARCH_SETTINGS)}.')
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (0, 1, 2, 3) for i in out_indices):
            raise ValueError('out_indices must be a non-empty subset of '
                             f'(0, 1, 2, 3), but got {out_indices}.')
        self.arch = arch
        self.out_indices = out_indices
        block, stage_blocks = ARCH_SETTINGS[arch]

        self.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, 64)[1]
        in_channels = 64
        self.layers = []
        self.stage_channels = []
        for i, (planes, num_blocks, stride) in enumerate(
                zip((64, 128, 256, 512), stage_blocks, (1, 2, 2, 2))):
            blocks = []
            for j in range(num_blocks):
                blocks.append(
                    block(
                        in_channels,
                        planes,
                        stride if j == 0 else 1,
                        norm_cfg=norm_cfg))
                in_channels = planes * block.expansion
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.layers.append(name)
            self.stage_channels.append(in_channels)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Run the network.

        Args:
            x (torch.Tensor): Images of shape (N, 3, H, W).

        Returns:
            tuple[torch.Tensor]: The post-ReLU outputs of the
            ``out_indices`` stages (strides 1, 2, 4, 8).
        """
        x = F.relu(self.bn1(self.conv1(x)))
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
