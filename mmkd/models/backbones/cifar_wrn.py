# Copyright (c) OpenMMLab. All rights reserved.
"""The CIFAR Wide ResNets of the CRD model zoo (wrn_16_1 ... wrn_40_2).

Pre-activation Wide ResNets (Zagoruyko & Komodakis, 2016) as CRD,
mdistiller and the official WKD code build them
(``mdistiller/models/cifar/wrn.py``): a 3x3 convolution to 16 channels,
three groups of ``n = (depth - 4) / 6`` pre-activation blocks with
``16k``, ``32k`` and ``64k`` channels (strides 1, 2, 2), then a final
BN + ReLU before the global pool.

Module names are those of the official networks (``conv1``,
``block1.layer.0.bn1``, ``block1.layer.0.convShortcut``, ``bn1``), so an
official state dict maps onto this backbone by a prefix change
(:mod:`mmkd.models.backbones.cifar_checkpoint`).
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmkd.registry import MODELS

__all__ = ['CIFARWideResNet', 'WideBasicBlock', 'WideBlockGroup']

#: arch -> (depth, widen_factor), the official ``wrn_<depth>_<k>``.
ARCH_SETTINGS: Dict[str, Tuple[int, int]] = {
    'wrn_16_1': (16, 1),
    'wrn_16_2': (16, 2),
    'wrn_40_1': (40, 1),
    'wrn_40_2': (40, 2),
}


class WideBasicBlock(BaseModule):
    """Pre-activation block: BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3.

    When the channels change, the shortcut is a 1x1 convolution
    (``convShortcut``) applied to the *activated* input; otherwise it is
    the raw input, as in the official block.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first conv and of the shortcut.
        drop_rate (float): Dropout probability between the two convs.
            Defaults to 0.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 drop_rate: float = 0.0,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.bn1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=3,
            stride=stride,
            padding=1,
            bias=False)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(
            out_channels,
            out_channels,
            kernel_size=3,
            stride=1,
            padding=1,
            bias=False)
        self.drop_rate = drop_rate
        self.equal_in_out = in_channels == out_channels
        # Same name as the official attribute, so the state-dict keys match.
        self.convShortcut = None
        if not self.equal_in_out:
            self.convShortcut = nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size=1,
                stride=stride,
                padding=0,
                bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Run the block.

        Args:
            x (torch.Tensor): Input of shape (N, C_in, H, W).

        Returns:
            torch.Tensor: ``shortcut + residual`` (no activation), of shape
            (N, C_out, H / stride, W / stride).
        """
        # BN returns a new tensor, so the in-place ReLU leaves ``x`` intact.
        act = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(act)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        shortcut = x if self.equal_in_out else self.convShortcut(act)
        return shortcut + out


class WideBlockGroup(BaseModule):
    """A group of :class:`WideBasicBlock` s, held in ``layer`` like the
    official ``NetworkBlock``.

    Args:
        num_blocks (int): Number of blocks.
        in_channels (int): Input channels of the first block.
        out_channels (int): Output channels of every block.
        stride (int): Stride of the first block.
        drop_rate (float): Dropout probability of every block.
        norm_cfg (dict): Normalisation config.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 num_blocks: int,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 drop_rate: float,
                 norm_cfg: dict,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.layer = nn.Sequential(*[
            WideBasicBlock(
                in_channels if i == 0 else out_channels,
                out_channels,
                stride if i == 0 else 1,
                drop_rate=drop_rate,
                norm_cfg=norm_cfg) for i in range(num_blocks)
        ])

    def forward(self, x: Tensor) -> Tensor:
        """Run the blocks.

        Args:
            x (torch.Tensor): Input of shape (N, C_in, H, W).

        Returns:
            torch.Tensor: Output of the last block (pre-activation).
        """
        return self.layer(x)


@MODELS.register_module()
class CIFARWideResNet(BaseModule):
    """The CIFAR Wide ResNet of CRD (``wrn_16_1``, ``wrn_16_2``,
    ``wrn_40_1``, ``wrn_40_2``).

    ``conv1`` (3x3, 16 channels, no BN after it), ``block1`` .. ``block3``
    (:class:`WideBlockGroup`, strides 1, 2, 2), then ``bn1`` + ``relu``.
    Stage outputs, indexed by ``out_indices``:

    * 0, 1, 2: ``block1`` .. ``block3`` outputs, pre-activation
      (``16k``, ``32k``, ``64k`` channels at strides 1, 2, 4);
    * 3: ``relu(bn1(block3 output))``, what the official network pools and
      feeds to its ``fc``: with ``neck=dict(type='GlobalAveragePooling')``
      and a ``LinearClsHead`` this is the official network at 32x32.

    The official ``feats[-1]`` (what WKD distils) is the ``block3`` output
    *before* the final BN + ReLU (wrn_40_2: (128, 8, 8) at 32x32), hence
    :attr:`DISTILL_STAGE` ``= 'block3'``.

    Example:
        >>> import torch
        >>> model = CIFARWideResNet('wrn_40_2')
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 32, 32))]
        [(1, 128, 8, 8)]

    Args:
        arch (str, optional): One of :data:`ARCH_SETTINGS`
            (``'wrn_16_1'``, ``'wrn_16_2'``, ``'wrn_40_1'``,
            ``'wrn_40_2'``). Give either ``arch`` or both ``depth`` and
            ``widen_factor``. Defaults to None.
        depth (int, optional): Depth ``6n + 4``. Defaults to None.
        widen_factor (int, optional): Width multiplier ``k``. Defaults to
            None.
        drop_rate (float): Dropout inside the blocks (0 in the CRD zoo).
            Defaults to 0.
        out_indices (Sequence[int]): Outputs (0-3, see above) to return.
            Defaults to ``(3,)``.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to the official one: normal(0, sqrt(2 / (k * k *
            out_channels))) for convolutions, i.e. Kaiming normal fan-out
            (ReLU), and weight 1, bias 0 for BN.
    """

    #: Submodule whose output is the official ``feats[-1]``.
    DISTILL_STAGE: Optional[str] = 'block3'

    def __init__(self,
                 arch: Optional[str] = None,
                 depth: Optional[int] = None,
                 widen_factor: Optional[int] = None,
                 drop_rate: float = 0.0,
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
        depth, widen_factor = self._resolve_arch(arch, depth, widen_factor)
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (0, 1, 2, 3) for i in out_indices):
            raise ValueError('out_indices must be a non-empty subset of '
                             f'(0, 1, 2, 3), but got {out_indices}.')
        self.arch = arch
        self.depth = depth
        self.widen_factor = widen_factor
        self.out_indices = out_indices
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.stage_channels = widths[1:]
        num_blocks = (depth - 4) // 6

        self.conv1 = nn.Conv2d(
            3, widths[0], kernel_size=3, stride=1, padding=1, bias=False)
        for i, stride in enumerate((1, 2, 2)):
            self.add_module(
                f'block{i + 1}',
                WideBlockGroup(num_blocks, widths[i], widths[i + 1], stride,
                               drop_rate, norm_cfg))
        self.bn1 = build_norm_layer(norm_cfg, widths[3])[1]
        self.relu = nn.ReLU(inplace=True)

    @staticmethod
    def _resolve_arch(arch: Optional[str], depth: Optional[int],
                      widen_factor: Optional[int]) -> Tuple[int, int]:
        if arch is not None:
            if arch not in ARCH_SETTINGS:
                raise ValueError(f'Unknown CIFARWideResNet arch {arch!r}; '
                                 f'valid archs are {sorted(ARCH_SETTINGS)}.')
            arch_depth, arch_widen = ARCH_SETTINGS[arch]
            if depth not in (None, arch_depth) or widen_factor not in (
                    None, arch_widen):
                raise ValueError(
                    f'arch {arch!r} is depth {arch_depth}, widen_factor '
                    f'{arch_widen}, but got depth={depth}, '
                    f'widen_factor={widen_factor}.')
            return arch_depth, arch_widen
        if depth is None or widen_factor is None:
            raise ValueError('Give either arch (one of '
                             f'{sorted(ARCH_SETTINGS)}) or both depth and '
                             'widen_factor.')
        if isinstance(depth, bool) or not isinstance(depth, int) or \
                depth < 10 or (depth - 4) % 6:
            raise ValueError(
                f'depth must be 6n + 4 with n >= 1, but got {depth!r}.')
        if isinstance(widen_factor, bool) or not isinstance(
                widen_factor, int) or widen_factor < 1:
            raise ValueError('widen_factor must be a positive int, but got '
                             f'{widen_factor!r}.')
        return depth, widen_factor

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Run the network.

        Args:
            x (torch.Tensor): Images of shape (N, 3, H, W).

        Returns:
            tuple[torch.Tensor]: The ``out_indices`` outputs (see the class
            docstring); by default the single map ``relu(bn1(block3))``.
        """
        x = self.conv1(x)
        outs = []
        for i in range(3):
            x = getattr(self, f'block{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        if 3 in self.out_indices:
            # ``bn1`` makes a new tensor: the in-place ReLU does not modify
            # the ``block3`` output (the distilled feature).
            outs.append(self.relu(self.bn1(x)))
        return tuple(outs)
