# Copyright (c) OpenMMLab. All rights reserved.
"""The CIFAR ResNets of the CRD model zoo (resnet8 ... resnet110, x4).

The networks of CRD (Tian et al., ICLR 2020), reused by mdistiller and the
official WKD code (``mdistiller/models/cifar/resnet.py``): a 3x3 stride-1
stem, then three stages of ``n = (depth - 2) / 6`` basic blocks with
strides 1, 2, 2. ``resnet8`` .. ``resnet110`` have 16 stem channels and
stage widths 16/32/64; ``resnet8x4`` and ``resnet32x4`` are four times as
wide (stem 32, stages 64/128/256), so their first stage opens with a 1x1
projection shortcut as well.

Module names are those of the official networks (``conv1``, ``bn1``,
``layer1.0.conv1``, ``layer1.0.downsample.0`` ...), so an official state
dict maps onto this backbone by a prefix change
(:mod:`mmkd.models.backbones.cifar_checkpoint`).
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmkd.registry import MODELS

__all__ = ['CIFARResNet', 'CIFARBasicBlock']

#: arch -> (depth, (stem, stage1, stage2, stage3) widths), the official
#: ``resnetX(...)`` constructors.
ARCH_SETTINGS: Dict[str, Tuple[int, Tuple[int, int, int, int]]] = {
    'resnet8': (8, (16, 16, 32, 64)),
    'resnet14': (14, (16, 16, 32, 64)),
    'resnet20': (20, (16, 16, 32, 64)),
    'resnet32': (32, (16, 16, 32, 64)),
    'resnet44': (44, (16, 16, 32, 64)),
    'resnet56': (56, (16, 16, 32, 64)),
    'resnet110': (110, (16, 16, 32, 64)),
    'resnet8x4': (8, (32, 64, 128, 256)),
    'resnet32x4': (32, (32, 64, 128, 256)),
}


def _conv3x3(in_channels: int,
             out_channels: int,
             stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size=3,
        stride=stride,
        padding=1,
        bias=False)


class CIFARBasicBlock(BaseModule):
    """Post-activation basic block: two 3x3 convs with BN, identity or 1x1
    projection shortcut, ReLU after the sum.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first 3x3 conv and of the projection.
            Defaults to 1.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.conv1 = _conv3x3(in_channels, out_channels, stride)
        self.bn1 = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(
                    in_channels,
                    out_channels,
                    kernel_size=1,
                    stride=stride,
                    bias=False),
                build_norm_layer(norm_cfg, out_channels)[1])

    def forward(self, x: Tensor) -> Tensor:
        """Run the block.

        Args:
            x (torch.Tensor): Input of shape (N, C_in, H, W).

        Returns:
            torch.Tensor: ``relu(branch(x) + shortcut(x))`` of shape
            (N, C_out, H / stride, W / stride).
        """
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        # ``out + identity`` is a new tensor: the in-place ReLU never
        # touches ``x``, which a hook may hold as the previous output.
        return self.relu(out + identity)


@MODELS.register_module()
class CIFARResNet(BaseModule):
    """The CIFAR ResNet of CRD (``resnet8`` ... ``resnet110``, ``resnet8x4``,
    ``resnet32x4``).

    ``conv1`` (3x3, stride 1) + ``bn1`` + ReLU, then ``layer1`` ..
    ``layer3``, each ``(depth - 2) / 6`` :class:`CIFARBasicBlock` s with
    strides 1, 2, 2. A 32x32 image gives a post-ReLU map of
    (64, 8, 8) (``resnet8`` .. ``resnet110``) or (256, 8, 8) (the x4
    networks) after ``layer3``. With
    ``neck=dict(type='GlobalAveragePooling')`` and a ``LinearClsHead`` this
    is the official network (its ``AvgPool2d(8)`` is a global pool at 32x32).

    The official ``feats[-1]`` (what WKD distils) is the ``layer3`` output,
    the last output of this backbone, so :attr:`DISTILL_STAGE` is None.

    Example:
        >>> import torch
        >>> model = CIFARResNet('resnet8x4')
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 32, 32))]
        [(1, 256, 8, 8)]

    Args:
        arch (str): One of :data:`ARCH_SETTINGS`: ``'resnet8'``,
            ``'resnet14'``, ``'resnet20'``, ``'resnet32'``, ``'resnet44'``,
            ``'resnet56'``, ``'resnet110'``, ``'resnet8x4'``,
            ``'resnet32x4'``.
        out_indices (Sequence[int]): Stages (0-2, i.e. ``layer1`` ..
            ``layer3``) whose outputs are returned. Defaults to ``(2,)``.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to the official one: Kaiming normal (fan-out, ReLU) for
            convolutions, weight 1 and bias 0 for BN.
    """

    #: Submodule whose output is the official ``feats[-1]``; None: the last
    #: output of the backbone (``layer3``, post-ReLU).
    DISTILL_STAGE: Optional[str] = None

    def __init__(self,
                 arch: str,
                 out_indices: Sequence[int] = (2, ),
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
            raise ValueError(f'Unknown CIFARResNet arch {arch!r}; valid '
                             f'archs are {sorted(ARCH_SETTINGS)}.')
        depth, widths = ARCH_SETTINGS[arch]
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (0, 1, 2) for i in out_indices):
            raise ValueError('out_indices must be a non-empty subset of '
                             f'(0, 1, 2), but got {out_indices}.')
        self.arch = arch
        self.depth = depth
        self.out_indices = out_indices
        self.stage_channels = list(widths[1:])
        num_blocks = (depth - 2) // 6

        self.conv1 = _conv3x3(3, widths[0])
        self.bn1 = build_norm_layer(norm_cfg, widths[0])[1]
        self.relu = nn.ReLU(inplace=True)
        in_channels = widths[0]
        self.layers = []
        for i, (channels, stride) in enumerate(zip(widths[1:], (1, 2, 2))):
            blocks = []
            for j in range(num_blocks):
                blocks.append(
                    CIFARBasicBlock(
                        in_channels,
                        channels,
                        stride=stride if j == 0 else 1,
                        norm_cfg=norm_cfg))
                in_channels = channels
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.layers.append(name)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Run the network.

        Args:
            x (torch.Tensor): Images of shape (N, 3, H, W).

        Returns:
            tuple[torch.Tensor]: The post-ReLU outputs of the
            ``out_indices`` stages; stage ``i`` has ``stage_channels[i]``
            channels and stride 1, 2, 4.
        """
        x = self.relu(self.bn1(self.conv1(x)))
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
