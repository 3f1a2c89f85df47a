# Copyright (c) OpenMMLab. All rights reserved.
"""Trainable adapters that map student features to the teacher's width.

A connector sits on the student side of a feature-distillation term, so that
student and teacher tensors have the same number of channels before the loss
compares them. Connectors are built by the distiller in its ``__init__`` (so
the optimizer and DDP see them, see the runner order in mmengine) and are
saved with the student in checkpoints but never exported with it.
"""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmkd.registry import MODELS
from mmkd.utils.checks import check_int

__all__ = [
    'ConvConnector', 'BottleneckProjector', 'LinearConnector',
    'ConvRegConnector', 'LinearMapConnector'
]


def _build_norm(norm: Optional[str],
                channels: int,
                name: str = 'norm') -> nn.Module:
    if norm is None:
        return nn.Identity()
    if norm == 'BN':
        return nn.BatchNorm2d(channels)
    if norm == 'GN':
        return nn.GroupNorm(min(32, channels), channels)
    raise ValueError(
        f"{name} must be one of None, 'BN', 'GN', but got {norm!r}.")


def _build_act(act: Optional[str], name: str = 'act') -> nn.Module:
    if act is None:
        return nn.Identity()
    if act == 'ReLU':
        return nn.ReLU(inplace=True)
    raise ValueError(f"{name} must be None or 'ReLU', but got {act!r}.")


class _Connector(BaseModule):
    """Base of the connectors: checks and keeps the two widths, which the
    distillers compare with the student's and the teacher's features."""

    def __init__(self, in_channels: int, out_channels: int,
                 init_cfg: Optional[dict]) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = check_int('in_channels', in_channels)
        self.out_channels = check_int('out_channels', out_channels)


@MODELS.register_module()
class ConvConnector(_Connector):
    """A 1x1 convolution, optionally followed by a norm and an activation.

    Works on feature maps ``(N, C, H, W)`` such as FPN levels or the
    ``(R, C, 7, 7)`` RoIAlign features of a two-stage detector.

    Args:
        in_channels (int): Student channels.
        out_channels (int): Teacher channels.
        norm (str, optional): ``None``, ``'BN'`` or ``'GN'``. Defaults to
            None.
        act (str, optional): ``None`` or ``'ReLU'``. Use ``None`` when the
            teacher features can be negative (FPN outputs, RoI features).
            Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to Kaiming
            initialisation of the convolution.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 norm: Optional[str] = None,
                 act: Optional[str] = None,
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Conv2d')) -> None:
        super().__init__(in_channels, out_channels, init_cfg)
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size=1, bias=norm is None)
        self.norm = _build_norm(norm, out_channels)
        self.act = _build_act(act)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, in_channels, H, W)`` to ``(N, out_channels, H, W)``."""
        return self.act(self.norm(self.conv(x)))


@MODELS.register_module()
class BottleneckProjector(_Connector):
    """The bottleneck projector of the WKD ImageNet experiments.

    1x1 conv to ``mid_channels``, 3x3 conv (padding 1), 1x1 conv to
    ``out_channels``, then a final norm and activation: docs/methods.md section 2
    ("1x1 conv 256, 3x3 conv 256, 1x1 conv to teacher channels, then BN +
    ReLU") and the official code's ``ConvRegBottleNeck`` (``c_hidden=256``,
    biased convolutions with nothing between them, ``relu(bn(x))`` at the
    end), which the official WKD-F applies to the student's last stage in
    every ImageNet setting (``WKD.PROJECTOR='bottleneck'``), equal widths
    included. ``mid_norm``/``mid_act`` add a norm/activation after each of
    the first two convolutions (the layout of mmkd 0.1.0); leave them
    ``None`` to match the official projector, for which the published w_F
    values were tuned.

    Args:
        in_channels (int): Student channels.
        out_channels (int): Teacher channels.
        mid_channels (int): Bottleneck width. Defaults to 256.
        norm (str, optional): Norm of the final block, ``'BN'``, ``'GN'`` or
            ``None``. Defaults to ``'BN'``.
        act (str, optional): Activation of the final block. The paper's
            ImageNet projector ends in ReLU because it matches post-ReLU
            backbone features. FPN outputs and RoIAlign features of a
            detector can be negative, so detection configs should pass
            ``act=None``. Defaults to ``'ReLU'``.
        mid_norm (str, optional): Norm after the first two convolutions,
            ``None``, ``'BN'`` or ``'GN'``. Defaults to None (official).
        mid_act (str, optional): Activation after the first two
            convolutions, ``None`` or ``'ReLU'``. Defaults to None
            (official).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 mid_channels: int = 256,
                 norm: Optional[str] = 'BN',
                 act: Optional[str] = 'ReLU',
                 mid_norm: Optional[str] = None,
                 mid_act: Optional[str] = None,
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Conv2d')) -> None:
        super().__init__(in_channels, out_channels, init_cfg)
        mid = check_int('mid_channels', mid_channels)
        # indices 1, 2, 4, 5 are Identity in the official layout; they keep
        # the parameter names (layers.0/3/6/7) the same in both layouts
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, mid, 1, bias=mid_norm is None),
            _build_norm(mid_norm, mid, 'mid_norm'),
            _build_act(mid_act, 'mid_act'),
            nn.Conv2d(mid, mid, 3, padding=1, bias=mid_norm is None),
            _build_norm(mid_norm, mid, 'mid_norm'),
            _build_act(mid_act, 'mid_act'),
            nn.Conv2d(mid, out_channels, 1, bias=norm is None),
            _build_norm(norm, out_channels),
            _build_act(act),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, in_channels, H, W)`` to ``(N, out_channels, H, W)``."""
        return self.layers(x)


@MODELS.register_module()
class LinearConnector(_Connector):
    """A linear map, optionally followed by a norm and an activation.

    Works on feature vectors ``(N, C)`` such as the pooled penultimate
    features (neck output) of an image classifier, which KDDM matches.

    Args:
        in_channels (int): Student feature width.
        out_channels (int): Teacher feature width.
        norm (str, optional): ``None`` or ``'BN'`` (``BatchNorm1d``).
            Defaults to None.
        act (str, optional): ``None`` or ``'ReLU'``; ``'ReLU'`` suits the
            non-negative average-pooled features of post-ReLU backbones.
            Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to Kaiming
            initialisation of the linear layer.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 norm: Optional[str] = None,
                 act: Optional[str] = None,
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Linear')) -> None:
        super().__init__(in_channels, out_channels, init_cfg)
        if norm not in (None, 'BN'):
            raise ValueError(
                f"norm must be None or 'BN', but got {norm!r}.")
        self.fc = nn.Linear(in_channels, out_channels, bias=norm is None)
        self.norm = nn.BatchNorm1d(out_channels) if norm else nn.Identity()
        self.act = _build_act(act)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, in_channels)`` to ``(N, out_channels)``."""
        if x.dim() != 2:
            raise ValueError(
                'LinearConnector takes (N, C) features, but got shape '
                f'{tuple(x.shape)}; use mmkd.ConvConnector for feature '
                'maps.')
        return self.act(self.norm(self.fc(x)))


def _pair(name: str, value) -> tuple:
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value,
                                                                  value)
    if len(pair) != 2:
        raise ValueError(f'{name} must be an int or (H, W), but got '
                         f'{value!r}.')
    return tuple(check_int(name, v) for v in pair)


@MODELS.register_module()
class ConvRegConnector(_Connector):
    """The official WKD/CRD CIFAR projector ("conv1x1" in the WKD configs,
    ``ConvReg`` in their code): one convolution chosen from the spatial
    sizes, then BN and ReLU.

    With student size ``(s_H, s_W)`` and teacher size ``(t_H, t_W)``:

    * ``s_H == 2 t_H``: a 3x3 convolution, stride 2, padding 1;
    * ``2 s_H == t_H``: a 4x4 transposed convolution, stride 2, padding 1
      (e.g. ShuffleNetV1's 4x4 map to WRN-40-2's 8x8);
    * ``s_H >= t_H``: a ``(1 + s_H - t_H) x (1 + s_W - t_W)`` convolution
      (1x1 for equal sizes, e.g. resnet8x4 -> resnet32x4);
    * anything else raises.

    The convolutions are biased and keep PyTorch's default initialisation,
    as the official projector does.

    Args:
        in_channels (int): Student channels.
        out_channels (int): Teacher channels.
        in_size (int | tuple[int, int]): Student feature size (H, W).
        out_size (int | tuple[int, int]): Teacher feature size (H, W).
        norm (bool): The BatchNorm after the convolution. Defaults to True.
        act (bool): The ReLU after it (needs ``norm``, as in the official
            code). Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None
            (PyTorch's default).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 in_size,
                 out_size,
                 norm: bool = True,
                 act: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(in_channels, out_channels, init_cfg)
        (s_h, s_w), (t_h, t_w) = _pair('in_size', in_size), _pair(
            'out_size', out_size)
        if s_h == 2 * t_h:
            conv = nn.Conv2d(in_channels, out_channels, 3, stride=2,
                             padding=1)
        elif 2 * s_h == t_h:
            conv = nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2,
                                      padding=1)
        elif s_h >= t_h:
            conv = nn.Conv2d(in_channels, out_channels,
                             (1 + s_h - t_h, 1 + s_w - t_w))
        else:
            raise ValueError(
                f'ConvRegConnector maps a student map of {(s_h, s_w)} to a '
                f'teacher map of {(t_h, t_w)}, which none of its layers '
                'does (half, double, or not larger); record stages whose '
                'sizes fit, or use another connector.')
        self.in_size, self.out_size = (s_h, s_w), (t_h, t_w)
        self.conv = conv
        self.bn = nn.BatchNorm2d(out_channels) if norm else nn.Identity()
        self.relu = nn.ReLU(inplace=True) if norm and act else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """Map the student map to the teacher's width and size."""
        return self.relu(self.bn(self.conv(x)))


@MODELS.register_module()
class LinearMapConnector(_Connector):
    """A linear map of every position of a feature map, after matching the
    teacher's grid: the projector for pairs across architectures.

    The WKD paper distils between CNNs and Transformers with "simply a
    linear layer": here the same linear map (``in_channels`` ->
    ``out_channels``, with bias, no norm, no activation; a 1x1 convolution)
    applied at every position. Maps of both families are ``(N, C, H, W)``
    (Transformer tokens on their patch grid, see
    :func:`~mmkd.models.adapters.to_feature_map`). Where the grids differ
    (a ViT-S/16 at 224 px has 14x14 patches, a ResNet-18's last stage
    7x7), the student's map is first resized to ``out_size``: adaptive
    average pooling from a larger grid (each teacher cell the mean of the
    student positions it covers), bilinear interpolation
    (``align_corners=False``) from a smaller one. Resizing before the
    linear map costs least and, the map being linear, gives the same result
    as after it for pooling.

    Args:
        in_channels (int): Student channels (a Transformer's embedding
            width).
        out_channels (int): Teacher channels.
        out_size (int | tuple[int, int], optional): Teacher grid (H, W);
            None keeps the student's grid, which must then equal the
            teacher's. Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to
            None (PyTorch's default for the convolution).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 out_size=None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(in_channels, out_channels, init_cfg)
        if out_size is not None:
            # only a connector that resizes has out_size: the distillers
            # check equal grids otherwise
            self.out_size = _pair('out_size', out_size)
        self.linear = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, in_channels, h, w)`` to ``(N, out_channels, H, W)``."""
        if x.dim() != 4:
            raise ValueError(
                'LinearMapConnector takes (N, C, H, W) maps, but got shape '
                f'{tuple(x.shape)}; use mmkd.LinearConnector for (N, C) '
                'features.')
        size = getattr(self, 'out_size', None)
        if size is not None and tuple(x.shape[2:]) != size:
            if x.shape[2] >= size[0] and x.shape[3] >= size[1]:
                x = F.adaptive_avg_pool2d(x, size)
            else:
                x = F.interpolate(x, size=size, mode='bilinear',
                                  align_corners=False)
        return self.linear(x)
