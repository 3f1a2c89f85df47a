# Copyright (c) OpenMMLab. All rights reserved.
"""Task-independent part of mmkd's distillers.

:class:`BaseDistiller` owns everything that does not depend on the task: it
builds the student and the teacher (from config dicts, built modules or
config files, including ``mmdet::``/``mmpretrain::`` paths), loads and freezes
the teacher, keeps the teacher in eval mode across ``train()`` calls, keeps
the teacher out of checkpoints unless asked, builds the distillation losses
and connectors, prefixes loss keys and exposes the small API the mmkd hooks
drive (distillation weight scale, distillation on/off, cost matrices).

Task wrappers (:class:`~mmkd.models.DetectionDistiller`, a classification
distiller) implement ``loss`` and the validation of their inputs.
"""
import inspect
import logging
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.model import BaseModel, ModuleDict
from mmengine.registry import DefaultScope
from torch import Tensor

from mmkd.registry import MODELS

__all__ = [
    'BaseDistiller', 'load_checkpoint_into', 'strip_prefix',
    'student_state_dict_from'
]

ModelSpec = Union[dict, ConfigDict, str, nn.Module]

#: Submodule names of a distiller; a state dict without any of these is
#: treated as a plain student state dict (see ``_load_from_state_dict``).
_DISTILLER_CHILDREN = ('student.', 'teacher.', 'connectors.',
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


_REMOTE_PREFIXES = ('http://', 'https://', 'torchvision://', 'open-mmlab://',
                    'openmmlab://', 'mmcls://', 's3://', 'pavi://')


def load_checkpoint_into(model: nn.Module,
                         filename: str,
                         strict: bool = True,
                         role: str = 'teacher') -> None:
    """Load a checkpoint into ``model``, listing every mismatch.

    Accepts runner checkpoints (``{'state_dict': ...}``), bare state dicts,
    DDP state dicts (``module.`` prefix) and distiller checkpoints saved with
    ``save_teacher=True`` (``teacher.`` prefix).

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
    from mmengine.runner.checkpoint import CheckpointLoader
    arg = f'{role}_ckpt'
    local = not filename.startswith(_REMOTE_PREFIXES)
    if local and not osp.isfile(osp.expanduser(filename)):
        raise FileNotFoundError(
            f'{arg} {filename!r} does not exist (resolved to '
            f'{osp.abspath(osp.expanduser(filename))}). Train the {role} '
            'first or fix the path.')
    try:
        ckpt = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    except Exception as e:  # noqa: BLE001 - re-raised with context
        raise RuntimeError(f'Could not read {arg} {filename!r}: '
                           f'{type(e).__name__}: {e}') from e
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
    problems = []
    if missing:
        problems.append(f'missing in checkpoint ({len(missing)}): ' +
                        ', '.join(missing))
    if unexpected:
        problems.append(f'unexpected in checkpoint ({len(unexpected)}): ' +
                        ', '.join(unexpected))
    if mismatched:
        problems.append(f'shape mismatch ({len(mismatched)}): ' +
                        '; '.join(mismatched))
    if problems:
        msg = (f'{arg} {filename!r} does not match the {role} model:\n  ' +
               '\n  '.join(problems))
        if strict:
            raise RuntimeError(
                msg + f'\nCheck that the {role} config is the one the '
                f'checkpoint was trained with, or pass {arg}_strict=False to '
                'load what matches.')
        print_log(msg, logger='current', level=logging.WARNING)
    model.load_state_dict(
        {
            k: v
            for k, v in state.items() if k in own and v.shape == own[k].shape
        },
        strict=False)


def _drop_teacher_state(module: nn.Module, state_dict: dict, prefix: str,
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


class BaseDistiller(BaseModel):
    """Student + frozen teacher + distillation losses.

    Args:
        student (dict | nn.Module): The student model config or module.
        teacher (dict | str | nn.Module): The teacher model config, a config
            file whose ``model`` is the teacher (a local path or a
            ``'mmdet::faster_rcnn/xxx.py'``-style package path), or a module.
        teacher_ckpt (str, optional): Checkpoint of the teacher, loaded in
            ``__init__`` (local path or URL). Its weights are protected from
            the runner's ``init_weights``. Defaults to None.
        teacher_ckpt_strict (bool): Raise when the checkpoint keys do not
            match the teacher (the mismatched keys are listed either way).
            Defaults to True.
        distill_losses (dict, optional): Name -> loss config. Names must
            contain ``'loss'`` so that mmengine optimises them. Defaults to
            None.
        connectors (dict, optional): Name -> connector config (student-side
            trainable adapters). Defaults to None.
        teacher_trainable (bool): Leave the teacher trainable (online
            distillation). Defaults to False.
        save_teacher (bool): Keep the teacher in ``state_dict()`` and hence in
            the runner's checkpoints. Defaults to False.
        data_preprocessor (dict | nn.Module, optional): Defaults to the
            student's own ``data_preprocessor``, so that the teacher sees the
            same inputs as the student.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 student: ModelSpec,
                 teacher: ModelSpec,
                 teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_strict: bool = True,
                 distill_losses: Optional[dict] = None,
                 connectors: Optional[dict] = None,
                 teacher_trainable: bool = False,
                 save_teacher: bool = False,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        student = self._build_model(student, 'student')
        if data_preprocessor is None:
            data_preprocessor = getattr(student, 'data_preprocessor', None)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = student
        self.teacher = self._build_model(teacher, 'teacher')
        self.teacher_ckpt = teacher_ckpt
        self.teacher_trainable = bool(teacher_trainable)
        self.save_teacher = bool(save_teacher)
        if teacher_ckpt is not None:
            self.load_teacher_checkpoint(teacher_ckpt,
                                         strict=teacher_ckpt_strict)
        if not self.teacher_trainable:
            self.freeze_teacher()

        self.distill_losses = self._build_children(distill_losses,
                                                   'distill_losses')
        for name in self.distill_losses:
            if 'loss' not in name:
                raise ValueError(
                    f"distill_losses key {name!r} does not contain 'loss', "
                    'so mmengine would log it but never optimise it. '
                    f"Rename it, e.g. 'loss_{name}'.")
        self.connectors = self._build_children(connectors, 'connectors')

        self.distill_enabled = True
        self._weight_scale: Dict[str, float] = {}
        # ``wd_weight`` (lambda) of WKD-L is what the schedule scales; the
        # target term keeps its weight (methods.md section 4).
        self._base_wd_weight = {
            name: float(loss.wd_weight)
            for name, loss in self.distill_losses.items()
            if isinstance(getattr(loss, 'wd_weight', None), (int, float))
        }
        self._accepts_labels = {
            name: self._forward_accepts(loss, 'labels')
            for name, loss in self.distill_losses.items()
        }
        self.register_state_dict_post_hook(_drop_teacher_state)
        self.register_load_state_dict_post_hook(
            BaseDistiller._ignore_missing_teacher)

    # ------------------------------------------------------------------
    # building
    # ------------------------------------------------------------------
    @staticmethod
    def _build_model(spec: ModelSpec, role: str) -> nn.Module:
        """Build a model from a module, a config dict or a config file."""
        if isinstance(spec, nn.Module):
            return spec
        if isinstance(spec, str):
            spec = BaseDistiller._model_cfg_from_file(spec, role)
        if not isinstance(spec, (dict, ConfigDict)):
            raise TypeError(
                f'{role} must be a model config dict, a config file path or '
                f'an nn.Module, but got {type(spec).__name__}.')
        if 'type' not in spec:
            raise ValueError(f"The {role} config has no 'type': {spec}.")
        return MODELS.build(spec)

    @staticmethod
    def _model_cfg_from_file(path: str, role: str) -> ConfigDict:
        """Read ``model`` from a config file or a ``pkg::path`` config."""
        if '::' in path:
            from mmengine.hub import get_config
            try:
                cfg = get_config(path)
            except Exception as e:  # noqa: BLE001 - re-raised with context
                raise FileNotFoundError(
                    f'Cannot load the {role} config {path!r} ({e}). Package '
                    "paths look like 'mmdet::faster_rcnn/"
                    "faster-rcnn_r101_fpn_1x_coco.py'.") from e
        else:
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'The {role} config file {path!r} does not exist '
                    f'(relative paths are resolved from {osp.abspath(".")}; '
                    "in a config, '{{fileDirname}}/x.py' gives a path "
                    'relative to that config).')
            cfg = Config.fromfile(path)
        if 'model' not in cfg:
            raise ValueError(f'The {role} config {path!r} has no `model`.')
        model_cfg = cfg.model
        # Unscoped types of a package config belong to its default scope.
        scope = cfg.get('default_scope', None)
        if scope is not None and '_scope_' not in model_cfg:
            model_cfg['_scope_'] = scope
        return model_cfg

    @staticmethod
    def _build_children(cfgs: Optional[dict], what: str) -> ModuleDict:
        """Build a name -> module dict; unscoped types resolve in mmkd."""
        if cfgs is None:
            return ModuleDict()
        if not isinstance(cfgs, (dict, ConfigDict)):
            raise TypeError(f'{what} must be a dict of name -> config, but '
                            f'got {type(cfgs).__name__}.')
        modules = ModuleDict()
        with DefaultScope.overwrite_default_scope('mmkd'):
            for name, cfg in cfgs.items():
                if isinstance(cfg, nn.Module):
                    modules[name] = cfg
                elif isinstance(cfg, (dict, ConfigDict)) and 'type' in cfg:
                    modules[name] = MODELS.build(cfg)
                else:
                    raise TypeError(
                        f'{what}[{name!r}] must be a config dict with a '
                        f"'type' or an nn.Module, but got {cfg!r}.")
        return modules

    @staticmethod
    def _forward_accepts(module: nn.Module, arg: str) -> bool:
        try:
            params = inspect.signature(module.forward).parameters
        except (TypeError, ValueError):
            return False
        return arg in params or any(
            p.kind == p.VAR_KEYWORD for p in params.values())

    # ------------------------------------------------------------------
    # teacher
    # ------------------------------------------------------------------
    def load_teacher_checkpoint(self, filename: str,
                                strict: bool = True) -> None:
        """Load the teacher's weights (see :func:`load_checkpoint_into`)
        and protect them from the runner's ``init_weights``."""
        load_checkpoint_into(self.teacher, filename, strict=strict,
                             role='teacher')
        # mmengine's BaseModule.init_weights skips children whose
        # ``is_init`` is set, so the runner cannot overwrite these weights.
        self.teacher._is_init = True

    def freeze_teacher(self) -> None:
        """``requires_grad=False`` on every teacher parameter, eval mode."""
        for param in self.teacher.parameters():
            param.requires_grad_(False)
        self.teacher.eval()

    def train(self, mode: bool = True) -> 'BaseDistiller':
        """Set the train mode; a frozen teacher always stays in eval mode
        (BatchNorm statistics and dropout are those it was trained with)."""
        super().train(mode)
        if not self.teacher_trainable:
            self.teacher.train(False)
        return self

    # ------------------------------------------------------------------
    # checkpoints
    # ------------------------------------------------------------------
    @staticmethod
    def _ignore_missing_teacher(module: 'BaseDistiller',
                                incompatible_keys) -> None:
        """Load post hook: a checkpoint without any teacher key (the default
        when ``save_teacher=False``) does not report the teacher as
        missing; the teacher keeps the weights of ``teacher_ckpt``."""
        teacher_keys = {
            'teacher.' + k
            for k in module.teacher.state_dict()
            if not k.endswith('num_batches_tracked')
        }
        missing = incompatible_keys.missing_keys
        if teacher_keys and teacher_keys.issubset(missing):
            missing[:] = [k for k in missing if not k.startswith('teacher.')]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Accept a plain student state dict (e.g. an exported student or a
        student trained without distillation) by prefixing it with
        ``student.``."""
        keys = [k for k in state_dict if k.startswith(prefix)]
        if keys and not any(k[len(prefix):].startswith(_DISTILLER_CHILDREN)
                            for k in keys):
            for key in keys:
                state_dict[prefix + 'student.' +
                           key[len(prefix):]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def student_state_dict(self) -> 'OrderedDict[str, Tensor]':
        """The student's own state dict, loadable by the plain student."""
        return self.student.state_dict()

    # ------------------------------------------------------------------
    # API used by the mmkd hooks
    # ------------------------------------------------------------------
    def _check_term_names(self, names: Optional[Iterable[str]]) -> List[str]:
        if names is None:
            return list(self.distill_losses)
        if isinstance(names, str):
            names = [names]
        names = list(names)
        unknown = [n for n in names if n not in self.distill_losses]
        if unknown:
            raise ValueError(f'Unknown distillation terms {unknown}; the '
                             f'terms are {list(self.distill_losses)}.')
        return names

    def set_distill_weight_scale(self,
                                 scale: float,
                                 names: Optional[Iterable[str]] = None
                                 ) -> None:
        """Scale the scheduled weight of distillation terms.

        For WKD-L (a loss with a ``wd_weight``) only lambda is scaled, as in
        the official code; the target term ``L_t`` keeps its weight. For the
        other terms the whole term is scaled.

        Args:
            scale (float): Factor in ``[0, inf)`` applied to the configured
                weight (not compounded across calls).
            names (list[str], optional): Terms to scale. Defaults to all.
        """
        scale = float(scale)
        if not scale >= 0 or scale == float('inf'):
            raise ValueError(
                f'scale must be finite and >= 0, but got {scale}.')
        for name in self._check_term_names(names):
            if name in self._base_wd_weight:
                self.distill_losses[name].wd_weight = (
                    self._base_wd_weight[name] * scale)
                self._weight_scale[name] = 1.0
            else:
                self._weight_scale[name] = scale

    def get_distill_weight_scale(self, name: str) -> float:
        """The current schedule factor of a term (1.0 unless scheduled)."""
        self._check_term_names([name])
        if name in self._base_wd_weight:
            base = self._base_wd_weight[name]
            current = float(self.distill_losses[name].wd_weight)
            return current / base if base else 1.0
        return self._weight_scale.get(name, 1.0)

    def set_distillation_enabled(self, enabled: bool) -> None:
        """Switch distillation on or off (the teacher is not run when off;
        the distillation keys stay in the loss dict as zeros)."""
        self.distill_enabled = bool(enabled)

    def set_cost_matrix(self,
                        cost_matrix: Tensor,
                        names: Optional[Iterable[str]] = None) -> List[str]:
        """Give a cost matrix to every term (or ``names``) whose loss has a
        ``set_cost_matrix`` method, after checking its size.

        Returns:
            list[str]: The terms that received it.

        Raises:
            ValueError: If no term takes a cost matrix or the size is wrong.
        """
        names = self._check_term_names(names)
        targets = [
            n for n in names
            if callable(getattr(self.distill_losses[n], 'set_cost_matrix',
                                None))
        ]
        if not targets:
            raise ValueError(
                f'None of the terms {names} takes a cost matrix (no '
                '`set_cost_matrix` method); is WKD-L configured?')
        for name in targets:
            self.check_cost_matrix(name, cost_matrix)
            self.distill_losses[name].set_cost_matrix(cost_matrix)
        return targets

    def check_cost_matrix(self, name: str, cost_matrix: Tensor) -> None:
        """Task-specific size check; overridden by the task wrappers."""

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward(self,
                inputs: Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """``loss`` runs distillation; ``predict`` and ``tensor`` are the
        student's, so validation and testing behave as for the student."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode in ('predict', 'tensor'):
            return self.student(inputs, data_samples, mode=mode)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, '
                           'predict and tensor mode')

    def loss(self, inputs: Tensor, data_samples: Optional[list]) -> dict:
        """Student losses (``student.*``) plus distillation terms
        (``distill.*``)."""
        raise NotImplementedError

    @staticmethod
    def add_prefix(losses: dict, prefix: str) -> dict:
        """``{k: v}`` -> ``{prefix + k: v}``."""
        return {f'{prefix}{k}': v for k, v in losses.items()}
