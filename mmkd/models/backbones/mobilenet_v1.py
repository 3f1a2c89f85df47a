# Copyright (c) OpenMMLab. All rights reserved.
"""MobileNetV1 (Howard et al., 2017) for mmpretrain classifiers.

mmpretrain 1.2 ships MobileNetV2/V3 only; the WKD ImageNet experiments use
MobileNetV1 as the student of ResNet-50 (docs/methods.md section 3).
"""
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmkd.registry import MODELS

__all__ = ['MobileNetV1']

#: Depthwise-separable blocks per stage: (out_channels, first stride,
#: number of blocks), after the 3x3 stride-2 stem of 32 channels. This is
#: the standard 1.0-width ImageNet network (13 separable blocks, 4.2 M
#: parameters with a 1000-class linear classifier).
ARCH_SETTINGS = (
    (64, 1, 1),
    (128, 2, 2),
    (256, 2, 2),
    (512, 2, 6),
    (1024, 2, 2),
)


def _check_index(name: str, value: int, num_stages: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or \
            not -1 <= value < num_stages:
        raise ValueError(f'{name} must be an int in [-1, {num_stages - 1}] '
                         f'(the stages are 0..{num_stages - 1}), but got '
                         f'{value!r}.')


@MODELS.register_module()
class MobileNetV1(BaseModule):
    """MobileNetV1 backbone.

    A 3x3 stride-2 convolution (``conv1``, 32 channels) followed by five
    stages (``layer1`` .. ``layer5``) of depthwise-separable blocks (3x3
    depthwise conv + BN + ReLU, 1x1 pointwise conv + BN + ReLU) with
    64, 128, 256, 512 and 1024 output channels and overall stride 32, so a
    224x224 image gives a (1024, 7, 7) map after ``layer5``. Every stage
    output is post-ReLU.

    Example:
        >>> import torch
        >>> model = MobileNetV1()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 224, 224))]
        [(1, 1024, 7, 7)]

    Args:
        widen_factor (float): Width multiplier of every layer. Defaults to
            1.0.
        out_indices (Sequence[int]): Stages (0-4) whose outputs are
            returned. Defaults to ``(4,)``.
        frozen_stages (int): Stages to freeze (``requires_grad=False`` and
            eval mode), ``-1`` for none; 0 freezes the stem only, ``i``
            the stem and ``layer1`` .. ``layer{i}``. Defaults to -1.
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict): Activation config. Defaults to
            ``dict(type='ReLU')``.
        norm_eval (bool): Keep BN layers in eval mode during training.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to Kaiming for convolutions and constant 1 for BN.
    """

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (4, ),
                 frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, list]] = [
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm'])
                 ]) -> None:
        super().__init__(init_cfg=init_cfg)
        num_stages = len(ARCH_SETTINGS)
        if not isinstance(widen_factor, (int, float)) or \
                isinstance(widen_factor, bool) or not widen_factor > 0:
            raise ValueError('widen_factor must be a positive number, but '
                             f'got {widen_factor!r}.')
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices:
            raise ValueError('out_indices must name at least one stage '
                             f'(0-{num_stages - 1}), but got ().')
        for index in out_indices:
            _check_index('out_indices', index, num_stages)
            if index < 0:
                raise ValueError('out_indices must be in [0, '
                                 f'{num_stages - 1}], but got {out_indices}.')
        _check_index('frozen_stages', frozen_stages, num_stages)
        self.widen_factor = widen_factor
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        def width(channels: int) -> int:
            return max(8, int(round(channels * widen_factor)))

        in_channels = width(32)
        self.conv1 = ConvModule(
            3,
            in_channels,
            kernel_size=3,
            stride=2,
            padding=1,
            bias=False,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.layers = []
        self.stage_channels = []
        for i, (channels, stride, num_blocks) in enumerate(ARCH_SETTINGS):
            out_channels = width(channels)
            blocks = []
            for j in range(num_blocks):
                blocks.append(
                    DepthwiseSeparableConvModule(
                        in_channels,
                        out_channels,
                        kernel_size=3,
                        stride=stride if j == 0 else 1,
                        padding=1,
                        bias=False,
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg))
                in_channels = out_channels
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.layers.append(name)
            self.stage_channels.append(out_channels)
        self._freeze_stages()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Run the network.

        Args:
            x (torch.Tensor): Images of shape (N, 3, H, W).

        Returns:
            tuple[torch.Tensor]: The outputs of the ``out_indices`` stages,
            stage ``i`` of shape (N, C_i, H / s_i, W / s_i) with
            ``s = (2, 4, 8, 16, 32)``.
        """
        x = self.conv1(x)
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.conv1] + [
            getattr(self, name)
            for name in self.layers[:self.frozen_stages]
        ]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'MobileNetV1':
        """Set the train mode; frozen stages and, with ``norm_eval``, every
        BN layer stay in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
