# Copyright (c) OpenMMLab. All rights reserved.
"""The CIFAR ShuffleNetV2 of the CRD model zoo (``ShuffleV2``).

ShuffleNetV2 (Ma et al., 2018) at ``net_size`` 1 as CRD, mdistiller and
the official WKD code build it for CIFAR
(``mdistiller/models/cifar/ShuffleNetv2.py``), not mmpretrain's ImageNet
``ShuffleNetV2``: a 1x1 stem convolution to 24 channels (stride 1, no
max-pool), three stages (116, 232, 464 channels) of one stride-2
down-sampling unit followed by 3, 7 and 3 basic units, then a 1x1
convolution to 1024 channels + BN + ReLU. A 32x32 image gives (464, 4, 4)
after ``layer3`` and (1024, 4, 4) after ``conv2``.

Module names are those of the official network (``conv1``, ``bn1``,
``layer1.0.conv1`` .. ``layer1.0.bn5`` for the down-sampling unit,
``layer1.1.conv1`` ..., ``conv2``, ``bn2``), so an official state dict maps
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

__all__ = ['CIFARShuffleNetV2', 'ShuffleV2DownBlock', 'ShuffleV2BasicBlock']

#: (output channels, basic units after the down-sampling unit) per stage,
#: and the width of ``conv2``: official ``net_size`` 1.
STAGE_SETTINGS = ((116, 3), (232, 7), (464, 3))
LAST_CHANNELS = 1024
STEM_CHANNELS = 24


def _shuffle_channels(x: Tensor, groups: int) -> Tensor:
    """(N, g * c, H, W) -> (N, c * g, H, W): channel ``i * c + j`` moves to
    ``j * g + i``."""
    n, channels, h, w = x.shape
    x = x.reshape(n, groups, channels // groups, h, w).transpose(1, 2)
    return x.reshape(n, channels, h, w)


def _depthwise3x3(channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(
        channels,
        channels,
        kernel_size=3,
        stride=stride,
        padding=1,
        groups=channels,
        bias=False)


def _pointwise(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)


class ShuffleV2DownBlock(BaseModule):
    """Stride-2 unit. Left: 3x3 depthwise + BN, 1x1 + BN + ReLU
    (``conv1``/``bn1``, ``conv2``/``bn2``); right: 1x1 + BN + ReLU,
    3x3 depthwise + BN, 1x1 + BN + ReLU (``conv3`` .. ``bn5``); both halves
    of ``out_channels // 2`` channels are concatenated and shuffled
    (2 groups).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        mid_channels = out_channels // 2
        self.conv1 = _depthwise3x3(in_channels, 2)
        self.bn1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv2 = _pointwise(in_channels, mid_channels)
        self.bn2 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv3 = _pointwise(in_channels, mid_channels)
        self.bn3 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv4 = _depthwise3x3(mid_channels, 2)
        self.bn4 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv5 = _pointwise(mid_channels, mid_channels)
        self.bn5 = build_norm_layer(norm_cfg, mid_channels)[1]

    def forward(self, x: Tensor) -> Tensor:
        """Run the unit.

        Args:
            x (torch.Tensor): Input of shape (N, C_in, H, W).

        Returns:
            torch.Tensor: Shuffled output of shape
            (N, 2 * (C_out // 2), H / 2, W / 2).
        """
        left = self.bn1(self.conv1(x))
        left = F.relu(self.bn2(self.conv2(left)))
        right = F.relu(self.bn3(self.conv3(x)))
        right = self.bn4(self.conv4(right))
        right = F.relu(self.bn5(self.conv5(right)))
        return _shuffle_channels(torch.cat([left, right], dim=1), 2)


class ShuffleV2BasicBlock(BaseModule):
    """Stride-1 unit: split the channels in two halves, keep the first,
    run the second through 1x1 + BN + ReLU, 3x3 depthwise + BN,
    1x1 + BN + ReLU, concatenate (kept half first) and shuffle (2 groups).

    Args:
        channels (int): Input and output channels.
        split_ratio (float): Fraction of the channels that is kept.
            Defaults to 0.5.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 channels: int,
                 split_ratio: float = 0.5,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.split_ratio = split_ratio
        branch = int(channels * split_ratio)
        self.conv1 = _pointwise(branch, branch)
        self.bn1 = build_norm_layer(norm_cfg, branch)[1]
        self.conv2 = _depthwise3x3(branch, 1)
        self.bn2 = build_norm_layer(norm_cfg, branch)[1]
        self.conv3 = _pointwise(branch, branch)
        self.bn3 = build_norm_layer(norm_cfg, branch)[1]

    def forward(self, x: Tensor) -> Tensor:
        """Run the unit.

        Args:
            x (torch.Tensor): Input of shape (N, C, H, W).

        Returns:
            torch.Tensor: Shuffled output of shape (N, C, H, W).
        """
        keep = int(x.shape[1] * self.split_ratio)
        kept, x = x[:, :keep], x[:, keep:]
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = F.relu(self.bn3(self.conv3(out)))
        return _shuffle_channels(torch.cat([kept, out], dim=1), 2)


@MODELS.register_module()
class CIFARShuffleNetV2(BaseModule):
    """The CIFAR ShuffleNetV2 of CRD (``ShuffleV2``, ``net_size`` 1).

    ``conv1`` (1x1, 24 channels, stride 1) + ``bn1`` + ReLU, ``layer1`` ..
    ``layer3`` (a :class:`ShuffleV2DownBlock` then 3/7/3
    :class:`ShuffleV2BasicBlock` s), ``conv2`` (1x1 to 1024) + ``bn2`` +
    ``relu``. ``out_indices`` 0-2 are the stage outputs (shuffled
    concatenations, at 32x32 (116, 16, 16), (232, 8, 8), (464, 4, 4)); 3 is
    ``relu(bn2(conv2(layer3 output)))``, what the official network pools
    and feeds to its classifier: with
    ``neck=dict(type='GlobalAveragePooling')`` and a ``LinearClsHead`` this
    is the official network (its ``avg_pool2d(4)`` is a global pool at
    32x32).

    The official ``feats[-1]`` (what WKD distils) is the ``layer3`` output,
    before ``conv2``: (464, 4, 4) at 32x32, hence :attr:`DISTILL_STAGE`
    ``= 'layer3'``.

    Example:
        >>> import torch
        >>> model = CIFARShuffleNetV2()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 32, 32))]
        [(1, 1024, 4, 4)]

    Args:
        out_indices (Sequence[int]): Outputs (0-3, see above) to return.
            Defaults to ``(3,)``.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to None: PyTorch's default initialisation, as the
            official network (which sets none).
    """

    #: Submodule whose output is the official ``feats[-1]``.
    DISTILL_STAGE: Optional[str] = 'layer3'

    def __init__(self,
                 out_indices: Sequence[int] = (3, ),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (0, 1, 2, 3) for i in out_indices):
            raise ValueError('out_indices must be a non-empty subset of '
                             f'(0, 1, 2, 3), but got {out_indices}.')
        self.out_indices = out_indices
        self.stage_channels = [channels for channels, _ in STAGE_SETTINGS]

        self.conv1 = _pointwise(3, STEM_CHANNELS)
        self.bn1 = build_norm_layer(norm_cfg, STEM_CHANNELS)[1]
        in_channels = STEM_CHANNELS
        self.layers = []
        for i, (channels, num_blocks) in enumerate(STAGE_SETTINGS):
            blocks = [ShuffleV2DownBlock(in_channels, channels, norm_cfg)]
            blocks += [
                ShuffleV2BasicBlock(channels, norm_cfg=norm_cfg)
                for _ in range(num_blocks)
            ]
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.layers.append(name)
            in_channels = channels
        self.conv2 = _pointwise(in_channels, LAST_CHANNELS)
        self.bn2 = build_norm_layer(norm_cfg, LAST_CHANNELS)[1]
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Run the network.

        Args:
            x (torch.Tensor): Images of shape (N, 3, H, W).

        Returns:
            tuple[torch.Tensor]: The ``out_indices`` outputs (see the class
            docstring); by default the single post-ReLU ``conv2`` map.
        """
        x = F.relu(self.bn1(self.conv1(x)))
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        if 3 in self.out_indices:
            # ``bn2`` makes a new tensor: the in-place ReLU leaves the
            # ``layer3`` output (the distilled feature) intact.
            outs.append(self.relu(self.bn2(self.conv2(x))))
        return tuple(outs)
