# Copyright (c) OpenMMLab. All rights reserved.
"""The CIFAR MobileNetV2 of the CRD model zoo (``mobile_half``).

MobileNetV2 (Sandler et al., 2018) as CRD, mdistiller and the official WKD
code build it for CIFAR (``mdistiller/models/cifar/mobilenetv2.py``,
``mobile_half``: expansion ``T = 6``, width 0.5). It differs from
mmpretrain's ImageNet ``MobileNetV2``: ReLU instead of ReLU6, no
``make_divisible`` (widths are ``int(c * widen_factor)``), stage strides
(1, 1, 2, 2, 1, 2, 1) after a stride-2 stem, an expansion 1x1 conv even in
the first (``t = 1``) block, and a final 1x1 conv to 1280 channels that
does not shrink with the width. A 32x32 image gives (160, 2, 2) after the
last block and (1280, 2, 2) after ``conv2``.

Module names are those of the official network (``conv1.0``,
``blocks.0.0.conv.0`` ... ``blocks.6.0.conv.7``, ``conv2.0``), so an
official state dict maps onto this backbone by a prefix change
(:mod:`mmkd.models.backbones.cifar_checkpoint`).
"""
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmkd.registry import MODELS

__all__ = ['CIFARMobileNetV2', 'CIFARInvertedResidual']

#: (expansion or None for ``expand_ratio``, channels, blocks, first
#: stride) per stage: the official setting, the first stage expanding by 1.
STAGE_SETTINGS = (
    (1, 16, 1, 1),
    (None, 24, 2, 1),
    (None, 32, 3, 2),
    (None, 64, 4, 2),
    (None, 96, 3, 1),
    (None, 160, 3, 2),
    (None, 320, 1, 1),
)


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int,
                  stride: int, norm_cfg: dict) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            kernel_size // 2,
            bias=False),
        build_norm_layer(norm_cfg, out_channels)[1], nn.ReLU(inplace=True))


class CIFARInvertedResidual(BaseModule):
    """Inverted residual: 1x1 expansion + BN + ReLU, 3x3 depthwise (stride)
    + BN + ReLU, 1x1 linear projection + BN, held in ``conv`` (indices
    0-7 as in the official block); identity shortcut when the stride is 1
    and the channels are unchanged.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the depthwise conv, 1 or 2.
        expand_ratio (int): Expansion of the hidden width.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 expand_ratio: int,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, but got {stride!r}.')
        hidden = in_channels * expand_ratio
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, 1, 0, bias=False),
            build_norm_layer(norm_cfg, hidden)[1],
            nn.ReLU(inplace=True),
            nn.Conv2d(
                hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            build_norm_layer(norm_cfg, hidden)[1],
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, 1, 1, 0, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
        )

    def forward(self, x: Tensor) -> Tensor:
        """Run the block.

        Args:
            x (torch.Tensor): Input of shape (N, C_in, H, W).

        Returns:
            torch.Tensor: Output of shape (N, C_out, H / stride, W / stride),
            without activation.
        """
        out = self.conv(x)
        return x + out if self.use_res_connect else out


@MODELS.register_module()
class CIFARMobileNetV2(BaseModule):
    """The CIFAR MobileNetV2 of CRD (``MobileNetV2`` = ``mobile_half``).

    ``conv1`` (3x3 stride 2 + BN + ReLU, ``int(32 * widen_factor)``
    channels), ``blocks`` (a ``ModuleList`` of seven stages of
    :class:`CIFARInvertedResidual`), ``conv2`` (1x1 + BN + ReLU to 1280
    channels, or ``int(1280 * widen_factor)`` when ``widen_factor > 1``).
    ``out_indices`` 0-6 are the outputs of ``blocks[0]`` .. ``blocks[6]``
    (no activation), 7 the ``conv2`` output, what the official network
    pools and feeds to its classifier: with
    ``neck=dict(type='GlobalAveragePooling')`` and a ``LinearClsHead`` this
    is the official network at 32x32 (its ``AvgPool2d(2, ceil_mode=True)``
    on the 2x2 map is a global pool).

    The official ``feats[-1]`` (what WKD distils) is the ``blocks[6]``
    output, (160, 2, 2) at 32x32, hence :attr:`DISTILL_STAGE` ``=
    'blocks.6'``.

    Example:
        >>> import torch
        >>> model = CIFARMobileNetV2()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 32, 32))]
        [(1, 1280, 2, 2)]

    Args:
        widen_factor (float): Width multiplier of the stem and the blocks.
            Defaults to 0.5 (``mobile_half``).
        expand_ratio (int): Expansion ``T`` of stages 1-6. Defaults to 6.
        out_indices (Sequence[int]): Outputs (0-7, see above) to return.
            Defaults to ``(7,)``.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to the official one: normal(0, sqrt(2 / (k * k *
            out_channels))), i.e. Kaiming normal fan-out (ReLU), for
            convolutions; weight 1, bias 0 for BN.
    """

    #: Submodule whose output is the official ``feats[-1]``.
    DISTILL_STAGE: Optional[str] = 'blocks.6'

    def __init__(self,
                 widen_factor: float = 0.5,
                 expand_ratio: int = 6,
                 out_indices: Sequence[int] = (7, ),
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
        if isinstance(widen_factor, bool) or not isinstance(
                widen_factor, (int, float)) or not widen_factor > 0:
            raise ValueError('widen_factor must be a positive number, but '
                             f'got {widen_factor!r}.')
        if isinstance(expand_ratio, bool) or not isinstance(
                expand_ratio, int) or expand_ratio < 1:
            raise ValueError('expand_ratio must be a positive int, but got '
                             f'{expand_ratio!r}.')
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in range(8) for i in out_indices):
            raise ValueError('out_indices must be a non-empty subset of '
                             f'0..7, but got {out_indices}.')
        self.widen_factor = widen_factor
        self.expand_ratio = expand_ratio
        self.out_indices = out_indices

        in_channels = int(32 * widen_factor)
        self.conv1 = _conv_bn_relu(3, in_channels, 3, 2, norm_cfg)
        self.blocks = nn.ModuleList()
        self.stage_channels = []
        for t, channels, num_blocks, stride in STAGE_SETTINGS:
            out_channels = int(channels * widen_factor)
            layers = []
            for j in range(num_blocks):
                layers.append(
                    CIFARInvertedResidual(
                        in_channels,
                        out_channels,
                        stride if j == 0 else 1,
                        expand_ratio if t is None else t,
                        norm_cfg=norm_cfg))
                in_channels = out_channels
            self.blocks.append(nn.Sequential(*layers))
            self.stage_channels.append(out_channels)
        self.out_channels = int(1280 * widen_factor) \
            if widen_factor > 1.0 else 1280
        self.conv2 = _conv_bn_relu(in_channels, self.out_channels, 1, 1,
                                   norm_cfg)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Run the network.

        Args:
            x (torch.Tensor): Images of shape (N, 3, H, W).

        Returns:
            tuple[torch.Tensor]: The ``out_indices`` outputs (see the class
            docstring); by default the single post-ReLU ``conv2`` map.
        """
        x = self.conv1(x)
        outs = []
        for i, stage in enumerate(self.blocks):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        if 7 in self.out_indices:
            # ``conv2`` starts with a convolution: ``blocks[6]``'s output
            # (the distilled feature) is not modified by its in-place ReLU.
            outs.append(self.conv2(x))
        return tuple(outs)
