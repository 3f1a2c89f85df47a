# Copyright (c) OpenMMLab. All rights reserved.
"""The CRD CIFAR-100 model zoo as mmpretrain classifiers, and the mapping of
the official checkpoints' state-dict keys.

The official teachers of CRD / mdistiller / WKD
(``cifar_teachers/<name>_vanilla/ckpt_epoch_240.pth``) hold
``{'model': state_dict, ...}`` with the module names of the official
networks. The CIFAR backbones of mmkd keep those names, so in an
mmpretrain ``ImageClassifier`` (``GlobalAveragePooling`` neck,
``LinearClsHead``) an official key ``k`` becomes ``backbone.k``, and the
official classifier (``fc``, ``classifier``, ``classifier.0`` or
``linear``, see :data:`OFFICIAL_CLASSIFIERS`) becomes ``head.fc``.

* :data:`CIFAR_ARCHS`: official model name (the keys of mdistiller's
  ``cifar_model_dict``) -> (backbone config, head ``in_channels``);
* :func:`cifar_classifier_cfg`: the whole ``ImageClassifier`` config;
* :func:`official_to_mmkd` / :func:`mmkd_to_official`: the two key
  mappings, which check every key and shape and raise a ``ValueError``
  naming the arch and the missing, unexpected or mis-shaped keys.

Example:
    >>> import torch
    >>> from mmpretrain.registry import MODELS
    >>> ckpt = torch.load('resnet32x4_vanilla/ckpt_epoch_240.pth',
    ...                   map_location='cpu')
    >>> model = MODELS.build(cifar_classifier_cfg('resnet32x4'))
    >>> model.load_state_dict(official_to_mmkd(ckpt, 'resnet32x4'))
"""
from collections import OrderedDict
from functools import lru_cache
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor

from .cifar_mobilenetv2 import CIFARMobileNetV2
from .cifar_resnet import CIFARResNet
from .cifar_resnet_v2 import CIFARResNetV2
from .cifar_shufflenetv1 import CIFARShuffleNetV1
from .cifar_shufflenetv2 import CIFARShuffleNetV2
from .cifar_vgg import CIFARVGG
from .cifar_wrn import CIFARWideResNet

__all__ = [
    'CIFAR_ARCHS', 'OFFICIAL_CLASSIFIERS', 'cifar_classifier_cfg',
    'official_arch_of', 'official_to_mmkd', 'mmkd_to_official'
]

#: Official model name -> (backbone config, ``in_channels`` of the
#: ``LinearClsHead``). The names are those of mdistiller's
#: ``cifar_model_dict`` (``vgg13`` there is ``vgg13_bn``, ``MobileNetV2``
#: is ``mobile_half``).
CIFAR_ARCHS: Dict[str, Tuple[dict, int]] = {
    **{
        name: (dict(type='mmkd.CIFARResNet', arch=name), 64)
        for name in ('resnet8', 'resnet14', 'resnet20', 'resnet32',
                     'resnet44', 'resnet56', 'resnet110')
    },
    'resnet8x4': (dict(type='mmkd.CIFARResNet', arch='resnet8x4'), 256),
    'resnet32x4': (dict(type='mmkd.CIFARResNet', arch='resnet32x4'), 256),
    'wrn_16_1': (dict(type='mmkd.CIFARWideResNet', arch='wrn_16_1'), 64),
    'wrn_16_2': (dict(type='mmkd.CIFARWideResNet', arch='wrn_16_2'), 128),
    'wrn_40_1': (dict(type='mmkd.CIFARWideResNet', arch='wrn_40_1'), 64),
    'wrn_40_2': (dict(type='mmkd.CIFARWideResNet', arch='wrn_40_2'), 128),
    **{
        name: (dict(type='mmkd.CIFARVGG', arch=name), 512)
        for name in ('vgg8', 'vgg11', 'vgg13', 'vgg16', 'vgg19')
    },
    'MobileNetV2': (dict(
        type='mmkd.CIFARMobileNetV2', widen_factor=0.5, expand_ratio=6),
                    1280),
    'ShuffleV1': (dict(type='mmkd.CIFARShuffleNetV1'), 960),
    'ShuffleV2': (dict(type='mmkd.CIFARShuffleNetV2'), 1024),
    'ResNet18': (dict(type='mmkd.CIFARResNetV2', arch='resnet18'), 512),
    'ResNet50': (dict(type='mmkd.CIFARResNetV2', arch='resnet50'), 2048),
}

#: Official model name -> module name of its final linear layer.
OFFICIAL_CLASSIFIERS: Dict[str, str] = {
    name: ('fc' if name.startswith(('resnet', 'wrn')) else
           'classifier' if name.startswith('vgg') else
           'classifier.0' if name == 'MobileNetV2' else 'linear')
    for name in CIFAR_ARCHS
}

BACKBONE_PREFIX = 'backbone.'
HEAD_PREFIX = 'head.fc.'

_BACKBONES = {
    'mmkd.CIFARResNet': CIFARResNet,
    'mmkd.CIFARWideResNet': CIFARWideResNet,
    'mmkd.CIFARVGG': CIFARVGG,
    'mmkd.CIFARMobileNetV2': CIFARMobileNetV2,
    'mmkd.CIFARShuffleNetV1': CIFARShuffleNetV1,
    'mmkd.CIFARShuffleNetV2': CIFARShuffleNetV2,
    'mmkd.CIFARResNetV2': CIFARResNetV2,
}

#: One (official key, mmkd key, shape) row per state-dict entry; the shape
#: of the classifier rows is None (the number of classes is free).
_KeyTable = Tuple[Tuple[str, str, Optional[Tuple[int, ...]]], ...]


def _check_arch(arch: str) -> None:
    if arch not in CIFAR_ARCHS:
        raise ValueError(f'Unknown CIFAR arch {arch!r}; valid archs are '
                         f'{list(CIFAR_ARCHS)}.')


def cifar_classifier_cfg(arch: str, num_classes: int = 100) -> dict:
    """The mmpretrain ``ImageClassifier`` config of an official network.

    Args:
        arch (str): An official model name, a key of :data:`CIFAR_ARCHS`.
        num_classes (int): Classes of the head. Defaults to 100.

    Returns:
        dict: ``ImageClassifier`` with the backbone of :data:`CIFAR_ARCHS`,
        a ``GlobalAveragePooling`` neck and a ``LinearClsHead``; at 32x32
        it is the official network.
    """
    _check_arch(arch)
    backbone, in_channels = CIFAR_ARCHS[arch]
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(backbone),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=in_channels,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


@lru_cache(maxsize=None)
def _key_table(arch: str) -> _KeyTable:
    """The state-dict layout of ``arch``, read from its backbone built on
    the meta device (no memory, no initialisation)."""
    cfg = dict(CIFAR_ARCHS[arch][0])
    backbone_cls = _BACKBONES[cfg.pop('type')]
    with torch.device('meta'):
        backbone = backbone_cls(**cfg)
    rows = [(key, BACKBONE_PREFIX + key, tuple(value.shape))
            for key, value in backbone.state_dict().items()]
    classifier = OFFICIAL_CLASSIFIERS[arch]
    rows += [(f'{classifier}.{name}', HEAD_PREFIX + name, None)
             for name in ('weight', 'bias')]
    return tuple(rows)


def _unwrap(state_dict: Mapping, wrapper: str) -> Mapping:
    """The state dict inside a checkpoint dict (``{'model': ...}`` or
    ``{'state_dict': ...}``), without a DataParallel ``module.`` prefix."""
    inner = state_dict.get(wrapper) if isinstance(state_dict,
                                                  Mapping) else None
    if isinstance(inner, Mapping):
        state_dict = inner
    if state_dict and all(
            isinstance(k, str) and k.startswith('module.')
            for k in state_dict):
        state_dict = OrderedDict(
            (k[len('module.'):], v) for k, v in state_dict.items())
    return state_dict


def _listing(items: List[str], limit: int = 10) -> str:
    shown = ', '.join(items[:limit])
    more = f', ... ({len(items) - limit} more)' if len(items) > limit else ''
    return f'[{shown}{more}]'


def _shape(value) -> Optional[Tuple[int, ...]]:
    return tuple(value.shape) if isinstance(value, Tensor) else None


def _convert(state_dict: Mapping, arch: str, to_mmkd: bool,
             wrapper: str) -> 'OrderedDict[str, Tensor]':
    _check_arch(arch)
    if not isinstance(state_dict, Mapping):
        raise TypeError('Expected a state dict (a mapping of names to '
                        f'tensors), but got {type(state_dict).__name__}.')
    state_dict = _unwrap(state_dict, wrapper)
    table = _key_table(arch)
    src, dst = (0, 1) if to_mmkd else (1, 0)
    expected = {row[src] for row in table}
    in_channels = CIFAR_ARCHS[arch][1]
    head_weight = next(row[src] for row in table if row[2] is None)
    weight_shape = _shape(state_dict.get(head_weight))
    num_classes = weight_shape[0] if weight_shape is not None and len(
        weight_shape) == 2 else None

    missing, wrong_shape = [], []
    out = OrderedDict()
    for row in table:
        key, shape = row[src], row[2]
        if key not in state_dict:
            if key.endswith('.num_batches_tracked'):
                # Absent from checkpoints of PyTorch < 0.4.1; unused by BN
                # with a momentum.
                out[row[dst]] = torch.zeros((), dtype=torch.long)
            else:
                missing.append(key)
            continue
        value = state_dict[key]
        got = _shape(value)
        if shape is None:  # classifier: (num_classes, in_channels), bias
            shape = (num_classes, in_channels) if key == head_weight else (
                num_classes, )
        if got != shape:
            wrong_shape.append(f'{key}: got {got}, expected {shape}')
            continue
        out[row[dst]] = value
    unexpected = [k for k in state_dict if k not in expected]
    if missing or unexpected or wrong_shape:
        side = 'official' if to_mmkd else 'mmkd ImageClassifier'
        problems = []
        if missing:
            problems.append(f'missing keys {_listing(missing)}')
        if unexpected:
            problems.append(f'unexpected keys {_listing(unexpected)}')
        if wrong_shape:
            problems.append(f'shape mismatches {_listing(wrong_shape)}')
        raise ValueError(f'The state dict does not fit the {side} {arch!r} '
                         f'network: {"; ".join(problems)}.')
    return out


def official_to_mmkd(state_dict: Mapping,
                     arch: str) -> 'OrderedDict[str, Tensor]':
    """Map an official CRD / mdistiller / WKD state dict to the keys of the
    mmpretrain classifier of :func:`cifar_classifier_cfg`.

    Args:
        state_dict (Mapping): The official state dict, or the checkpoint
            dict holding it under ``'model'`` (what ``ckpt_epoch_240.pth``
            holds); a DataParallel ``module.`` prefix is dropped. Missing
            ``num_batches_tracked`` buffers are filled with 0.
        arch (str): An official model name, a key of :data:`CIFAR_ARCHS`.

    Returns:
        OrderedDict[str, torch.Tensor]: ``backbone.<official key>`` for the
        backbone, ``head.fc.weight`` / ``head.fc.bias`` for the official
        classifier; the tensors are not copied.

    Raises:
        ValueError: If ``arch`` is unknown, or if a key is missing,
            unexpected or of the wrong shape for ``arch`` (all are listed).
    """
    return _convert(state_dict, arch, to_mmkd=True, wrapper='model')


def mmkd_to_official(state_dict: Mapping,
                     arch: str) -> 'OrderedDict[str, Tensor]':
    """Map the state dict of the mmpretrain classifier of
    :func:`cifar_classifier_cfg` to the keys of the official network; the
    inverse of :func:`official_to_mmkd`.

    Args:
        state_dict (Mapping): The classifier's state dict, or an mmengine
            checkpoint holding it under ``'state_dict'``; a DataParallel
            ``module.`` prefix is dropped. Missing ``num_batches_tracked``
            buffers are filled with 0.
        arch (str): An official model name, a key of :data:`CIFAR_ARCHS`.

    Returns:
        OrderedDict[str, torch.Tensor]: The official state dict, in the
        official networks' order; the tensors are not copied.

    Raises:
        ValueError: If ``arch`` is unknown, or if a key is missing,
            unexpected or of the wrong shape for ``arch`` (all are listed).
    """
    return _convert(state_dict, arch, to_mmkd=False, wrapper='state_dict')


def official_arch_of(model: torch.nn.Module) -> Optional[str]:
    """The official network an mmpretrain classifier is, or None.

    The arch whose layout (every backbone key and shape, and the head's
    width) is the classifier's; the number of classes is free.

    Args:
        model (nn.Module): An ``ImageClassifier`` (or any module).

    Returns:
        str | None: A key of :data:`CIFAR_ARCHS`.
    """
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    weight = own.get(HEAD_PREFIX + 'weight')
    for arch in CIFAR_ARCHS:
        rows = _key_table(arch)
        if weight is None or weight[1:] != (CIFAR_ARCHS[arch][1], ) or \
                len(rows) != len(own):
            continue
        if all(own.get(mmkd_key) == shape for _, mmkd_key, shape in rows
               if shape is not None):
            return arch
    return None
