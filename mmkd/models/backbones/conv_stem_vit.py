# Copyright (c) OpenMMLab. All rights reserved.
"""A ViT whose patchify layer is a small convolutional stem.

Xiao et al., "Early Convolutions Help Transformers See Better" (NeurIPS
2021) replace ViT's stride-``p`` patchify convolution by a stack of 3x3
stride-2 convolutions (BN + ReLU) and a 1x1 projection to the embedding
width. The Transformer layers, tokens and outputs are those of mmpretrain's
``VisionTransformer``. Added for mmkd's toy across-architecture study,
where a plain ViT trained from scratch on the few thousand cluttered 32 x 32
toy crops stays at chance (val 13.2 % after 72 AdamW epochs; resnet8 reaches
76 %). With this stem and SGD it reaches 66 % in 96 epochs (AdamW still
fails): the student of configs/toy_digits_hetero/cvit-w48-d4_96e.
"""
from typing import Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from mmkd.registry import MODELS

__all__ = ['ConvStem', 'ConvStemViT']


class ConvStem(nn.Module):
    """3x3 stride-2 convolutions (BN + ReLU), then a 1x1 projection.

    It is a drop-in for mmcv's ``PatchEmbed``: ``forward`` returns the
    tokens ``(N, H * W, C)`` and the grid ``(H, W)``, so mmkd's feature
    readers find the patch grid as they do for a ViT.

    Args:
        in_channels (int): Input image channels.
        stem_channels (Sequence[int]): Output channels of each 3x3 stride-2
            convolution; the stem's overall stride is ``2 ** len(...)``.
        embed_dims (int): Token width (the 1x1 projection's output).
    """

    def __init__(self, in_channels: int, stem_channels: Sequence[int],
                 embed_dims: int) -> None:
        super().__init__()
        layers = []
        for channels in stem_channels:
            layers.append(
                ConvModule(in_channels, channels, 3, stride=2, padding=1,
                           bias=False, norm_cfg=dict(type='BN'),
                           act_cfg=dict(type='ReLU')))
            in_channels = channels
        self.convs = nn.Sequential(*layers)
        self.projection = nn.Conv2d(in_channels, embed_dims, 1)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        x = self.projection(self.convs(x))
        return x.flatten(2).transpose(1, 2), (x.shape[2], x.shape[3])


@MODELS.register_module()
def ConvStemViT(stem_channels: Sequence[int] = (24, 48),
                **kwargs) -> nn.Module:
    """mmpretrain's ``VisionTransformer`` with a convolutional stem.

    A builder, not a subclass: it returns a plain ``VisionTransformer``
    whose ``patch_embed`` is a :class:`ConvStem`, so mmpretrain is imported
    only when one is built (mmkd imports without it) and everything that
    reads a ViT (feature readers, checkpoints) treats it as one.

    Example:
        >>> import torch
        >>> vit = ConvStemViT(
        ...     arch=dict(embed_dims=48, num_layers=2, num_heads=3,
        ...               feedforward_channels=96),
        ...     img_size=32, patch_size=4, stem_channels=(24, 48))
        >>> vit(torch.rand(2, 3, 32, 32))[0].shape
        torch.Size([2, 48])

    Args:
        stem_channels (Sequence[int]): Channels of the stem's 3x3 stride-2
            convolutions; ``patch_size`` must be ``2 ** len(stem_channels)``
            so the token grid is the plain ViT's. Defaults to ``(24, 48)``
            (patch 4).
        **kwargs: ``VisionTransformer``'s arguments (``arch``, ``img_size``,
            ``patch_size``, ``out_type``, ...) except ``patch_cfg``.

    Returns:
        nn.Module: The ``VisionTransformer``.

    Raises:
        ValueError: If ``stem_channels`` is empty or does not match
            ``patch_size``, or if ``patch_cfg`` is given.
    """
    # mmpretrain is optional for mmkd (a detection user may not have it)
    from mmpretrain.models.backbones import VisionTransformer

    stem_channels = tuple(stem_channels)
    patch_size = kwargs.get('patch_size', 16)
    if not stem_channels or 2**len(stem_channels) != patch_size:
        raise ValueError(
            f'ConvStemViT: stem_channels={stem_channels!r} give a stride '
            f'of {2 ** len(stem_channels)}, but patch_size is '
            f'{patch_size}; give log2(patch_size) stem channels (e.g. '
            '(24, 48) for patch 4).')
    if kwargs.get('patch_cfg'):
        raise ValueError('ConvStemViT: patch_cfg configures the patchify '
                         'convolution the stem replaces; remove it and '
                         'set stem_channels instead.')
    vit = VisionTransformer(**kwargs)
    # PatchEmbed pads to a multiple of the patch ('corner'), so its grid is
    # ceil(size / 2 ** k): the stem's (3x3, stride 2, padding 1) grid is the
    # same, and the position embedding fits it.
    vit.patch_embed = ConvStem(
        kwargs.get('in_channels', 3), stem_channels, vit.embed_dims)
    return vit
