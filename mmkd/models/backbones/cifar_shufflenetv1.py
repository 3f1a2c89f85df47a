# Copyright (c) OpenMMLab. All rights reserved.
"""The CIFAR ShuffleNetV1 of the CRD model zoo (``ShuffleV1``).

ShuffleNetV1 (Zhang et al., 2018) as CRD, mdistiller and the official WKD
code build it for CIFAR (``mdistiller/models/cifar/ShuffleNetv1.py``),
not mmpretrain's ImageNet ``ShuffleNetV1``: a 1x1 stem convolution to 24
channels (stride 1, no max-pool), three stages of 4, 8 and 4 bottlenecks
with 240, 480 and 960 channels and 3 groups, each stage opening with a
stride-2 block whose 3x3 average-pooled shortcut is concatenated. A 32x32
image gives (960, 4, 4) after ``layer3``.

Module names are those of the official network (``conv1``, ``bn1``,
``layer1.0.conv1`` ... ``layer3.3.bn3``), so an official state dict maps
onto this backbone by a prefix change
(:mod:`mmkd.models.backbones.cifar_checkpoint`).
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmkd.registry import MODELS

__all__ = ['CIFARShuffleNetV1', 'ShuffleV1Bottleneck']

#: (output channels, blocks) per stage, official ``ShuffleV1``.
STAGE_SETTINGS = ((240, 4), (480, 8), (960, 4))
#: Stem width; the block fed by the stem has a dense (1-group) first 1x1.
STEM_CHANNELS = 24


def _shuffle_channels(x: Tensor, groups: int) -> Tensor:
    """(N, g * c, H, W) -> (N, c * g, H, W): channel ``i * c + j`` moves to
    ``j * g + i``."""
    n, channels, h, w = x.shape
    x = x.reshape(n, groups, channels // groups, h, w).transpose(1, 2)
    return x.reshape(n, channels, h, w)


class ShuffleV1Bottleneck(BaseModule):
    """ShuffleNetV1 unit: grouped 1x1 + BN + ReLU, channel shuffle, 3x3
    depthwise (stride) + BN + ReLU, grouped 1x1 + BN; stride 1 adds the
    input, stride 2 concatenates a 3x3 stride-2 average pool of it; ReLU
    at the end.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Channels of the residual branch (the block's
            output has ``out_channels + in_channels`` channels at stride 2).
        stride (int): Stride, 1 or 2.
        groups (int): Groups of the 1x1 convolutions.
        dense_first (bool): Use one group in the first 1x1 convolution
            (the official block does this when its input is the stem).
            Defaults to False.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 groups: int,
                 dense_first: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, but got {stride!r}.')
        self.stride = stride
        mid_channels = int(out_channels / 4)
        self.first_groups = 1 if dense_first else groups
        self.conv1 = nn.Conv2d(
            in_channels,
            mid_channels,
            kernel_size=1,
            groups=self.first_groups,
            bias=False)
        self.bn1 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv2 = nn.Conv2d(
            mid_channels,
            mid_channels,
            kernel_size=3,
            stride=stride,
            padding=1,
            groups=mid_channels,
            bias=False)
        self.bn2 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv3 = nn.Conv2d(
            mid_channels, out_channels, kernel_size=1, groups=groups,
            bias=False)
        self.bn3 = build_norm_layer(norm_cfg, out_channels)[1]
        self.shortcut = nn.AvgPool2d(3, stride=2, padding=1) \
            if stride == 2 else None

    def forward(self, x: Tensor) -> Tensor:
        """Run the block.

        Args:
            x (torch.Tensor): Input of shape (N, C_in, H, W).

        Returns:
            torch.Tensor: Post-ReLU output, (N, C_out, H, W) at stride 1 or
            (N, C_out + C_in, H / 2, W / 2) at stride 2.
        """
        out = F.relu(self.bn1(self.conv1(x)))
        out = _shuffle_channels(out, self.first_groups)
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.stride == 2:
            out = torch.cat([out, self.shortcut(x)], dim=1)
        else:
            out = out + x
        return F.relu(out)


@MODELS.register_module()
class CIFARShuffleNetV1(BaseModule):
    """The CIFAR ShuffleNetV1 of CRD (``ShuffleV1``: groups 3, stages of
    4/8/4 blocks, 240/480/960 channels).

    ``conv1`` (1x1, 24 channels, stride 1) + ``bn1`` + ReLU, then
    ``layer1`` .. ``layer3`` of :class:`ShuffleV1Bottleneck` s, each
    opening with a stride-2 block. ``out_indices`` 0-2 are the post-ReLU
    stage outputs; at 32x32 they are (240, 16, 16), (480, 8, 8) and
    (960, 4, 4). With ``neck=dict(type='GlobalAveragePooling')`` and a
    ``LinearClsHead`` this is the official network (its
    ``avg_pool2d(4)`` is a global pool at 32x32).

    The official ``feats[-1]`` (what WKD distils) is the ``layer3`` output,
    the last output of this backbone, so :attr:`DISTILL_STAGE` is None.

    Example:
        >>> import torch
        >>> model = CIFARShuffleNetV1()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 32, 32))]
        [(1, 960, 4, 4)]

    Args:
        out_indices (Sequence[int]): Stages (0-2) whose outputs are
            returned. Defaults to ``(2,)``.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to None: PyTorch's default initialisation, as the
            official network (which sets none).
    """

    #: Submodule whose output is the official ``feats[-1]``; None: the last
    #: output of the backbone (``layer3``, post-ReLU).
    DISTILL_STAGE: Optional[str] = None

    #: Groups of the 1x1 convolutions (official ``ShuffleV1``).
    GROUPS = 3

    def __init__(self,
                 out_indices: Sequence[int] = (2, ),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (0, 1, 2) for i in out_indices):
            raise ValueError('out_indices must be a non-empty subset of '
                             f'(0, 1, 2), but got {out_indices}.')
        self.out_indices = out_indices
        self.stage_channels = [channels for channels, _ in STAGE_SETTINGS]

        self.conv1 = nn.Conv2d(3, STEM_CHANNELS, kernel_size=1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, STEM_CHANNELS)[1]
        in_channels = STEM_CHANNELS
        self.layers = []
        for i, (channels, num_blocks) in enumerate(STAGE_SETTINGS):
            blocks = []
            for j in range(num_blocks):
                # The stride-2 opener concatenates its input: its branch
                # makes only the missing channels.
                branch = channels - in_channels if j == 0 else channels
                blocks.append(
                    ShuffleV1Bottleneck(
                        in_channels,
                        branch,
                        stride=2 if j == 0 else 1,
                        groups=self.GROUPS,
                        dense_first=in_channels == STEM_CHANNELS,
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
            ``out_indices`` stages (strides 2, 4, 8).
        """
        x = F.relu(self.bn1(self.conv1(x)))
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
