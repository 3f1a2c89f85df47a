# Copyright (c) OpenMMLab. All rights reserved.
"""The CIFAR VGGs of the CRD model zoo (vgg8, vgg11, vgg13, vgg16, vgg19).

The batch-normalised VGGs (``vggX_bn``) of CRD, mdistiller and the official
WKD code (``mdistiller/models/cifar/vgg.py``), not the ImageNet VGG of
mmpretrain: five blocks of 3x3 convolutions (with bias) + BN + ReLU, of
64, 128, 256, 512 and 512 channels, a 2x2 max-pool after blocks 0, 1 and 2
only, and a single linear classifier on the globally pooled 512-channel map
(no 4096-wide fc layers). A 32x32 image gives (512, 4, 4) after block 4.

Module names are those of the official networks (``block0.0`` conv,
``block0.1`` BN, ``block0.2`` ReLU, ``block0.3`` conv ...), so an official
state dict maps onto this backbone by a prefix change
(:mod:`mmkd.models.backbones.cifar_checkpoint`).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmkd.registry import MODELS

__all__ = ['CIFARVGG']

#: arch -> conv widths of blocks 0..4 (official cfg 'S', 'A', 'B', 'D',
#: 'E').
ARCH_SETTINGS: Dict[str, Tuple[Tuple[int, ...], ...]] = {
    'vgg8': ((64, ), (128, ), (256, ), (512, ), (512, )),
    'vgg11': ((64, ), (128, ), (256, 256), (512, 512), (512, 512)),
    'vgg13': ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
    'vgg16': ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512),
              (512, 512, 512)),
    'vgg19': ((64, 64), (128, 128), (256, 256, 256, 256),
              (512, 512, 512, 512), (512, 512, 512, 512)),
}


def _make_block(widths: Sequence[int], in_channels: int,
                norm_cfg: dict) -> nn.Sequential:
    """conv3x3 (bias) - BN - ReLU per width, without the last ReLU (the
    network applies it outside the block, as the official code does)."""
    layers: List[nn.Module] = []
    for width in widths:
        layers += [
            nn.Conv2d(in_channels, width, kernel_size=3, padding=1),
            build_norm_layer(norm_cfg, width)[1],
            nn.ReLU(inplace=True)
        ]
        in_channels = width
    return nn.Sequential(*layers[:-1])


@MODELS.register_module()
class CIFARVGG(BaseModule):
    """The CIFAR VGG of CRD with BN (``vgg8``, ``vgg11``, ``vgg13``,
    ``vgg16``, ``vgg19``).

    ``block0`` .. ``block4`` each end with a BN; a (functional, not
    in-place) ReLU follows every block, and ``pool0`` .. ``pool2`` (2x2
    max-pools) follow the ReLUs of blocks 0-2. ``pool3`` is applied after
    block 3 only for 64x64 inputs, exactly like the official code (which
    tests the input height against 64). Stage ``i`` of ``out_indices`` is
    ``relu(block_i output)``, before the pool.

    The official ``feats[-1]`` (what WKD distils) is ``relu(block4
    output)``, (512, 4, 4) at 32x32: the last output of this backbone, so
    :attr:`DISTILL_STAGE` is None. With
    ``neck=dict(type='GlobalAveragePooling')`` and a ``LinearClsHead`` this
    is the official network (its ``AdaptiveAvgPool2d(1)`` + ``classifier``).

    Example:
        >>> import torch
        >>> model = CIFARVGG('vgg13')
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 32, 32))]
        [(1, 512, 4, 4)]

    Args:
        arch (str): One of :data:`ARCH_SETTINGS`: ``'vgg8'``, ``'vgg11'``,
            ``'vgg13'``, ``'vgg16'``, ``'vgg19'``.
        out_indices (Sequence[int]): Stages (0-4) whose post-ReLU outputs
            are returned. Defaults to ``(4,)``.
        norm_cfg (dict): Normalisation config. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to the official one: normal(0, sqrt(2 / (9 *
            out_channels))), i.e. Kaiming normal fan-out (ReLU), with zero
            bias for convolutions; weight 1, bias 0 for BN.
    """

    #: Submodule whose output is the official ``feats[-1]``; None: the last
    #: output of the backbone (``relu(block4)``).
    DISTILL_STAGE: Optional[str] = None

    def __init__(self,
                 arch: str,
                 out_indices: Sequence[int] = (4, ),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[Union[dict, list]] = [
                     dict(
                         type='Kaiming',
                         layer='Conv2d',
                         mode='fan_out',
                         nonlinearity='relu',
                         bias=0),
                     dict(
                         type='Constant',
                         val=1,
                         bias=0,
                         layer=['_BatchNorm', 'GroupNorm'])
                 ]) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'Unknown CIFARVGG arch {arch!r}; valid archs '
                             f'are {sorted(ARCH_SETTINGS)}.')
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in range(5) for i in out_indices):
            raise ValueError('out_indices must be a non-empty subset of '
                             f'(0, 1, 2, 3, 4), but got {out_indices}.')
        self.arch = arch
        self.out_indices = out_indices
        cfg = ARCH_SETTINGS[arch]
        self.stage_channels = [widths[-1] for widths in cfg]
        in_channels = 3
        for i, widths in enumerate(cfg):
            self.add_module(f'block{i}',
                            _make_block(widths, in_channels, norm_cfg))
            in_channels = widths[-1]
        for i in range(4):
            self.add_module(f'pool{i}', nn.MaxPool2d(kernel_size=2, stride=2))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Run the network.

        Args:
            x (torch.Tensor): Images of shape (N, 3, H, W).

        Returns:
            tuple[torch.Tensor]: The post-ReLU outputs of the
            ``out_indices`` blocks; at 32x32, blocks 0-4 give 32, 16, 8, 4
            and 4 pixels a side.
        """
        pool3 = x.shape[2] == 64  # the official rule, on the input height
        outs = []
        for i in range(5):
            x = F.relu(getattr(self, f'block{i}')(x))
            if i in self.out_indices:
                outs.append(x)
            if i < 3 or (i == 3 and pool3):
                x = getattr(self, f'pool{i}')(x)
        return tuple(outs)
