# Copyright (c) OpenMMLab. All rights reserved.
"""Checkpoint I/O of distillers: teacher weights in, student weights out.

* :func:`load_checkpoint_into` loads a teacher (or any model) from a runner
  checkpoint, a bare or DDP state dict, or a distiller checkpoint saved with
  ``save_teacher=True``, and lists every mismatched key;
* :func:`student_state_dict_from` finds the student inside a distiller state
  dict (what ``tools/export_student.py`` and ``StudentCheckpointHook``
  write);
* the state-dict hooks of :class:`~mmkd.models.BaseDistiller`: the teacher
  stays out of checkpoints unless ``save_teacher``, a checkpoint without it
  does not report it missing, and a plain student state dict loads into a
  distiller.
"""
import logging
import os.path as osp
from collections import OrderedDict
from typing import Dict, List

import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

__all__ = [
    'strip_prefix', 'student_state_dict_from', 'load_checkpoint_into',
    'drop_teacher_state', 'ignore_missing_teacher', 'as_distiller_state'
]

#: Submodule names of a distiller; a state dict without any of these is
#: treated as a plain student state dict (see :func:`as_distiller_state`).
DISTILLER_CHILDREN = ('student.', 'teacher.', 'connectors.',
                      'distill_losses.', 'data_preprocessor.')


def strip_prefix(state_dict: Dict[str, Tensor],
                 prefix: str) -> 'OrderedDict[str, Tensor]':
    """Keep the entries whose key starts with ``prefix``, without it."""
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                       if k.startswith(prefix))


def student_state_dict_from(state_dict: Dict[str, Tensor]) -> 'OrderedDict':
    """The student's plain state dict inside a distiller state dict.

    Accepts the keys of a bare distiller (``student.backbone...``) and of a
    DDP-wrapped one (``module.student.backbone...``).

    Raises:
        ValueError: If no key belongs to a student.
    """
    for prefix in ('student.', 'module.student.'):
        out = strip_prefix(state_dict, prefix)
        if out:
            return out
    sample = ', '.join(list(state_dict)[:5])
    raise ValueError(
        'The checkpoint holds no student weights (no key starts with '
        f"'student.'); first keys: [{sample}]. Is it a distiller checkpoint?")


def _from_official_cifar(ckpt: dict, model: nn.Module, arg: str,
                         filename: str) -> Dict[str, Tensor]:
    """The state dict of a CRD / mdistiller / WKD CIFAR checkpoint
    (``{'model': official state dict, ...}``) in ``model``'s keys."""
    from .backbones.cifar_checkpoint import (CIFAR_ARCHS, official_arch_of,
                                             official_to_mmkd)
    arch = official_arch_of(model)
    if arch is None:
        raise RuntimeError(
            f"{arg} {filename!r} holds {{'model': ...}}, the format of the "
            'CRD / mdistiller CIFAR checkpoints, but the model is none of '
            f'the CIFAR zoo classifiers ({", ".join(CIFAR_ARCHS)}); build it '
            'with mmkd.models.backbones.cifar_classifier_cfg(arch).')
    try:
        return official_to_mmkd(ckpt, arch)
    except ValueError as e:
        raise RuntimeError(f'{arg} {filename!r}: {e}') from e


def _from_timm(state: Dict[str, Tensor], model: nn.Module, arg: str,
               filename: str) -> Dict[str, Tensor]:
    """``state`` in ``model``'s keys when it is a timm state dict of the
    model's backbone family (ViT/DeiT, Swin, ConvNeXt, ResNet), else as
    it is."""
    from .backbones.timm_checkpoint import looks_like_timm, timm_to_mmpretrain
    if not looks_like_timm(state, model):
        return state
    try:
        return timm_to_mmpretrain(state, model)
    except ValueError as e:
        raise RuntimeError(f'{arg} {filename!r}: {e}') from e


def load_checkpoint_into(model: nn.Module,
                         filename: str,
                         strict: bool = True,
                         role: str = 'teacher') -> None:
    """Load a checkpoint into ``model``, listing every mismatch.

    Accepts runner checkpoints (``{'state_dict': ...}``), bare state dicts,
    DDP state dicts (``module.`` prefix), distiller checkpoints saved with
    ``save_teacher=True`` (``teacher.`` prefix) and the CRD / mdistiller
    CIFAR checkpoints (``{'model': state_dict, 'epoch', 'accuracy',
    'optimizer', ...}`` with the official module names) for the CIFAR zoo
    classifiers (:func:`~mmkd.models.backbones.official_to_mmkd`), and timm
    state dicts of ViT/DeiT, Swin, ConvNeXt and ResNet classifiers (OFA's
    teachers; see :mod:`mmkd.models.backbones.timm_checkpoint`).

    Args:
        model (nn.Module): The model to load into.
        filename (str): Local path or URL.
        strict (bool): Raise on missing/unexpected keys or shape mismatches;
            otherwise load what matches and log the rest as a warning.
        role (str): Name used in messages. Defaults to ``'teacher'``.

    Raises:
        FileNotFoundError: If a local file does not exist.
        RuntimeError: If the file cannot be read, or (``strict``) if keys or
            shapes do not match. All mismatched keys are listed.
    """
    from mmkd.utils.checkpoint import REMOTE_PREFIXES, load_checkpoint_file
    arg = f'{role}_ckpt'
    local = not filename.startswith(REMOTE_PREFIXES)
    if local and not osp.isfile(osp.expanduser(filename)):
        raise FileNotFoundError(
            f'{arg} {filename!r} does not exist (resolved to '
            f'{osp.abspath(osp.expanduser(filename))}). Train the {role} '
            'first or fix the path.')
    try:
        ckpt = load_checkpoint_file(filename, map_location='cpu')
    except Exception as e:  # noqa: BLE001 - re-raised with context
        raise RuntimeError(f'Could not read {arg} {filename!r}: '
                           f'{type(e).__name__}: {e}') from e
    if isinstance(ckpt, dict) and 'state_dict' not in ckpt and \
            isinstance(ckpt.get('model'), dict):
        ckpt = dict(state_dict=_from_official_cifar(ckpt, model, arg,
                                                    filename))
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, Tensor) for v in state.values()):
        raise RuntimeError(
            f'{arg} {filename!r} is not a state dict or a checkpoint with a '
            "'state_dict' entry.")
    for prefix in ('module.teacher.', 'teacher.', 'module.'):
        if all(k.startswith(prefix) for k in state):
            state = strip_prefix(state, prefix)
            break
    else:
        teacher_part = strip_prefix(state, 'teacher.')
        if teacher_part:
            state = teacher_part
    state = _from_timm(state, model, arg, filename)

    own = model.state_dict()
    missing = [
        k for k in own
        if k not in state and not k.endswith('num_batches_tracked')
    ]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f'{k}: checkpoint {tuple(state[k].shape)} vs model '
        f'{tuple(own[k].shape)}' for k in state
        if k in own and state[k].shape != own[k].shape
    ]
    problems = [
        f'{what} ({len(keys)}): ' + sep.join(keys)
        for what, keys, sep in (('missing in checkpoint', missing, ', '),
                                ('unexpected in checkpoint', unexpected,
                                 ', '), ('shape mismatch', mismatched, '; '))
        if keys
    ]
    if problems:
        msg = (f'{arg} {filename!r} does not match the {role} model:\n  ' +
               '\n  '.join(problems))
        if strict:
            hint = (f', or pass {arg}_strict=False to load what matches'
                    if role == 'teacher' else '')
            raise RuntimeError(
                msg + f'\nCheck that the {role} config is the one the '
                f'checkpoint was trained with{hint}.')
        print_log(msg, logger='current', level=logging.WARNING)
    model.load_state_dict(
        {
            k: v
            for k, v in state.items() if k in own and v.shape == own[k].shape
        },
        strict=False)


def drop_teacher_state(module: nn.Module, state_dict: dict, prefix: str,
                        local_metadata: dict) -> None:
    """State-dict post hook: remove the teacher unless ``save_teacher``."""
    if module.save_teacher:
        return
    teacher_prefix = prefix + 'teacher.'
    for key in [k for k in state_dict if k.startswith(teacher_prefix)]:
        del state_dict[key]
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        for key in [
                k for k in metadata if k == prefix + 'teacher'
                or k.startswith(teacher_prefix)
        ]:
            del metadata[key]


def ignore_missing_teacher(module: nn.Module, incompatible_keys) -> None:
    """Load post hook: a checkpoint without any teacher key (the default
    when ``save_teacher=False``) does not report the teacher as missing;
    the teacher keeps the weights of ``teacher_ckpt``."""
    teacher_keys = {
        'teacher.' + k
        for k in module.teacher.state_dict()
        if not k.endswith('num_batches_tracked')
    }
    missing = incompatible_keys.missing_keys
    if teacher_keys and teacher_keys.issubset(missing):
        missing[:] = [k for k in missing if not k.startswith('teacher.')]


def as_distiller_state(state_dict: Dict[str, Tensor], prefix: str) -> None:
    """Prefix a plain student state dict (an exported student, a student
    trained alone) with ``student.``, in place, so that it loads into a
    distiller; a distiller state dict is left as it is.

    Args:
        state_dict (dict): The state dict being loaded.
        prefix (str): The distiller's prefix in it (``''`` at the top).
    """
    keys: List[str] = [k for k in state_dict if k.startswith(prefix)]
    if keys and not any(k[len(prefix):].startswith(DISTILLER_CHILDREN)
                        for k in keys):
        for key in keys:
            state_dict[prefix + 'student.' +
                       key[len(prefix):]] = state_dict.pop(key)
