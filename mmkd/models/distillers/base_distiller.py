# Copyright (c) OpenMMLab. All rights reserved.
"""Task-independent part of mmkd's distillers.

:class:`BaseDistiller` owns everything that does not depend on the task: it
builds the student and the teacher (from config dicts, built modules or
config files, including ``mmdet::``/``mmpretrain::`` paths), loads and freezes
the teacher, keeps the teacher in eval mode across ``train()`` calls, keeps
the teacher out of checkpoints unless asked, builds the distillation losses
and connectors, prefixes loss keys and exposes the small API the mmkd hooks
drive (distillation weight scale, distillation on/off, cost matrices). It
also owns the generic half of every distillation step: parsing
``distill_inputs`` (driven by the wrapper's :attr:`BaseDistiller.SOURCES`
and :attr:`BaseDistiller.TERM_KEYS`), converting the student's batch to the
teacher's input normalisation, and computing the terms in float32 outside
autocast with their schedule scale (:meth:`BaseDistiller.compute_terms`).

Task wrappers (:class:`~mmkd.models.DetectionDistiller`,
:class:`~mmkd.models.ClassificationDistiller`) implement ``loss``, what
each source reads, and the task-specific checks of their inputs.
"""
import inspect
import logging
import os.path as osp
from collections import OrderedDict
from typing import (Any, Callable, Dict, Iterable, List, Optional, Tuple,
                    Union)

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.model import BaseModel, ModuleDict
from mmengine.registry import DefaultScope
from torch import Tensor

from mmkd.losses.utils import graph_zero
from mmkd.registry import MODELS

__all__ = [
    'BaseDistiller', 'load_checkpoint_into', 'strip_prefix',
    'student_state_dict_from', 'with_data_preprocessor'
]

ModelSpec = Union[dict, ConfigDict, str, nn.Module]
#: What a distillation loss returns: a tensor or a dict of named tensors.
LossValue = Union[Tensor, Dict[str, Tensor]]
#: Input normalisation of a data preprocessor: (mean, std, channel flip);
#: mean and std are None when it does not normalise.
NormParams = Tuple[Optional[Tensor], Optional[Tensor], bool]

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


def with_data_preprocessor(model_cfg: dict, cfg: Config) -> dict:
    """``model_cfg`` with the top-level ``data_preprocessor`` of ``cfg``
    unless it has its own, as mmengine's Runner builds models (mmpretrain
    configs keep the input normalisation at the top level).

    Args:
        model_cfg (dict): A model config from ``cfg``.
        cfg (Config): The whole config.

    Returns:
        dict: ``model_cfg``, updated in place.
    """
    preproc = cfg.get('data_preprocessor', None)
    if preproc is not None and 'data_preprocessor' not in model_cfg:
        model_cfg['data_preprocessor'] = preproc
    return model_cfg


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

    #: Source name -> what a term reading it receives; set by each task
    #: wrapper. The first one is the example in error messages.
    SOURCES: Dict[str, str] = {}
    #: Keys a ``distill_inputs`` entry may hold (``source``, ``connector``
    #: and ``scheduled`` are parsed here, the rest by ``_parse_term``).
    TERM_KEYS: Tuple[str, ...] = ('source', 'connector', 'scheduled')
    #: Whether a teacher ``data_preprocessor`` that does not normalise means
    #: "not configured" (mmpretrain model configs keep the normalisation at
    #: the top level, outside ``model``), so the teacher gets the student's
    #: batch as is, rather than "raw pixels" (mmdet model configs carry it).
    UNNORMALISED_TEACHER_IS_UNSET = False

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
        #: The teacher's config file when given as one (for records).
        self.teacher_config = teacher if isinstance(teacher, str) else None
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
        self._setup_teacher_normalization()

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
        model_cfg = with_data_preprocessor(cfg.model, cfg)
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
    # teacher inputs
    # ------------------------------------------------------------------
    @staticmethod
    def _norm_params(preproc: Optional[nn.Module]) -> Optional[NormParams]:
        """``(mean, std, flip)`` of a data preprocessor, or None when it is
        not an mmengine-style image preprocessor.

        ``flip`` is mmengine's channel conversion (``bgr_to_rgb``) or
        mmpretrain's ``to_rgb``.
        """
        if preproc is None or not hasattr(preproc, '_enable_normalize'):
            return None
        if preproc._enable_normalize:
            mean = preproc.mean.detach().clone().float().view(-1)
            std = preproc.std.detach().clone().float().view(-1)
        else:
            mean = std = None
        flip = getattr(preproc, '_channel_conversion',
                       getattr(preproc, 'to_rgb', False))
        return mean, std, bool(flip)

    def _setup_teacher_normalization(self) -> None:
        """Decide whether :meth:`teacher_inputs` converts the batch."""
        s = self._norm_params(self.data_preprocessor)
        t = self._norm_params(getattr(self.teacher, 'data_preprocessor',
                                      None))
        self._renorm = None
        if s is None or t is None:
            return
        if t[0] is None and self.UNNORMALISED_TEACHER_IS_UNSET:
            return
        same = (s[2] == t[2] and (s[0] is None) == (t[0] is None)
                and (s[0] is None or (torch.equal(s[0], t[0])
                                      and torch.equal(s[1], t[1]))))
        if same:
            return
        print_log(
            'The teacher normalises its inputs differently from the student '
            f'(student mean/std/flip {s}, teacher {t}); the student batch is '
            "converted to the teacher's normalisation before the teacher "
            'runs (padding stays where the student put it).',
            logger='current',
            level=logging.WARNING)
        self._renorm = (s, t)

    def teacher_inputs(self, inputs: Tensor) -> Tensor:
        """The student's preprocessed batch in the teacher's normalisation.

        Undoes the student's mean/std and channel order and applies the
        teacher's, so the teacher sees the tensor the student saw (same
        size, padding and augmentation) normalised as it was trained.

        Args:
            inputs (torch.Tensor): The student's batch (N, C, H, W).

        Returns:
            torch.Tensor: ``inputs`` itself when both normalise alike,
            otherwise the converted batch in the same dtype.
        """
        if self._renorm is None:
            return inputs
        (s_mean, s_std, s_flip), (t_mean, t_std, t_flip) = self._renorm
        x = inputs.float()
        if s_mean is not None:
            x = x * s_std.to(x).view(1, -1, 1, 1) + s_mean.to(x).view(
                1, -1, 1, 1)
        if s_flip != t_flip:
            x = x.flip(1)
        if t_mean is not None:
            x = (x - t_mean.to(x).view(1, -1, 1, 1)) / t_std.to(x).view(
                1, -1, 1, 1)
        return x.to(inputs.dtype)

    def teacher_data(self, data: dict) -> dict:
        """A dataloader batch as training hands it to the teacher.

        The distiller's ``data_preprocessor`` (the student's, or the
        top-level one of an mmpretrain config) in test mode, then
        :meth:`teacher_inputs`. Whatever reads the teacher outside the
        training step (the cost-matrix build) uses this, so it sees the
        inputs the teacher is distilled with, not what the teacher's own
        ``data_preprocessor`` would make of the raw batch.

        Args:
            data (dict): A batch from the dataloader (``inputs``,
                ``data_samples``).

        Returns:
            dict: ``inputs`` in the teacher's normalisation and the
            preprocessed ``data_samples``.
        """
        data = self.data_preprocessor(data, False)
        return dict(data, inputs=self.teacher_inputs(data['inputs']))

    # ------------------------------------------------------------------
    # distill_inputs
    # ------------------------------------------------------------------
    def _parse_distill_inputs(self, distill_inputs: Optional[dict]) -> dict:
        """Validate ``distill_inputs`` against the terms, ``SOURCES``,
        ``TERM_KEYS`` and the connectors.

        Each entry becomes a dict with ``source``, ``connector`` and
        ``scheduled``, updated with what :meth:`_parse_term` returns.

        Args:
            distill_inputs (dict, optional): Term name -> source name or a
                dict with ``source`` and the keys in ``TERM_KEYS``.

        Returns:
            dict: Term name -> parsed entry.

        Raises:
            ValueError: If a term has no entry, an entry names no term, or
                an entry has an unknown key, source or connector.
            TypeError: If an entry is neither a source name nor a dict.
        """
        sources = list(self.SOURCES)
        distill_inputs = dict(distill_inputs or {})
        names = set(self.distill_losses)
        missing = sorted(names - set(distill_inputs))
        if missing:
            raise ValueError(
                f'distill_inputs has no entry for the terms {missing}; give '
                'each term its source, e.g. distill_inputs=dict('
                f"{missing[0]}='{sources[0]}'). Sources: {sources}.")
        extra = sorted(set(distill_inputs) - names)
        if extra:
            raise ValueError(
                f'distill_inputs names {extra}, which are not in '
                f'distill_losses {sorted(names)}.')
        parsed = {}
        for name, spec in distill_inputs.items():
            if isinstance(spec, str):
                spec = dict(source=spec)
            if not isinstance(spec, (dict, ConfigDict)):
                raise TypeError(
                    f'distill_inputs[{name!r}] must be a source name or a '
                    f'dict, but got {spec!r}.')
            spec = dict(spec)
            unknown = sorted(set(spec) - set(self.TERM_KEYS))
            if unknown:
                raise ValueError(
                    f'distill_inputs[{name!r}] has unknown keys {unknown}; '
                    f'valid keys: {list(self.TERM_KEYS)}.')
            source = spec.get('source')
            if source not in self.SOURCES:
                raise ValueError(
                    f'distill_inputs[{name!r}] has source {source!r}; valid '
                    f'sources: {sources}.')
            connector = spec.get('connector')
            if connector is not None and connector not in self.connectors:
                raise ValueError(
                    f'distill_inputs[{name!r}] uses connector {connector!r}, '
                    f'which is not in connectors {list(self.connectors)}.')
            term = dict(
                source=source,
                connector=connector,
                scheduled=bool(spec.get('scheduled', True)))
            term.update(self._parse_term(name, spec, source))
            parsed[name] = term
        return parsed

    def _parse_term(self, name: str, spec: dict, source: str) -> dict:
        """Task-specific checks of one ``distill_inputs`` entry.

        Args:
            name (str): The term.
            spec (dict): Its entry (keys already checked).
            source (str): Its source (already checked).

        Returns:
            dict: The task-specific fields of the parsed entry.
        """
        return {}

    # ------------------------------------------------------------------
    # distillation terms
    # ------------------------------------------------------------------
    def _zero(self, ref: Tensor, connector: Optional[str]) -> Tensor:
        """A float32 zero connected to ``ref`` and the connector, so DDP
        sees a gradient (of zero) for every trainable parameter.

        Exactly 0 and finite even when ``ref`` holds inf/NaN (a float16
        overflow under AMP), see :func:`mmkd.losses.utils.graph_zero`.
        """
        params = ([] if connector is None else list(
            self.connectors[connector].parameters()))
        return graph_zero(ref, *params, dtype=torch.float32)

    def _call_loss(self,
                   name: str,
                   s: Tensor,
                   t: Tensor,
                   labels: Optional[Tensor] = None) -> LossValue:
        """Call a term's loss; ``labels`` only reach losses taking them."""
        loss = self.distill_losses[name]
        if labels is not None and self._accepts_labels[name]:
            return loss(s, t, labels=labels)
        return loss(s, t)

    def compute_terms(self, inputs: Tensor, ref: Tensor,
                      run_teacher: Callable[[Tensor], Any],
                      term_value: Callable[[str, dict, Any], LossValue]
                      ) -> Dict[str, Tensor]:
        """The generic half of a distillation step.

        When distillation is off, every term is a graph-connected zero (the
        teacher does not run). Otherwise the teacher runs once under
        ``no_grad`` on :meth:`teacher_inputs`, then each term is computed
        in float32 outside autocast and multiplied by its schedule factor
        (see :meth:`set_distill_weight_scale`; 1 for terms with
        ``scheduled=False``).

        Args:
            inputs (torch.Tensor): The student's preprocessed batch.
            ref (torch.Tensor): A student output the zeros are connected
                to.
            run_teacher (callable): ``run_teacher(teacher_inputs)`` -> what
                the teacher gives the terms.
            term_value (callable): ``term_value(name, term, teacher_out)``
                -> the term's loss (a tensor or a dict of tensors).

        Returns:
            dict: Term name, or the keys of a dict-valued loss, -> value.
        """
        if not self.distill_enabled:
            return {
                name: self._zero(ref, term['connector'])
                for name, term in self.distill_inputs.items()
            }
        with torch.no_grad():
            teacher_out = run_teacher(self.teacher_inputs(inputs))
        out: Dict[str, Tensor] = {}
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            for name, term in self.distill_inputs.items():
                value = term_value(name, term, teacher_out)
                scale = (
                    self._weight_scale.get(name, 1.0)
                    if term['scheduled'] else 1.0)
                if isinstance(value, dict):
                    for key, val in value.items():
                        out[key] = val * scale
                else:
                    out[name] = value * scale
        return out

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
        targets = self.cost_matrix_terms(names)
        for name in targets:
            self.check_cost_matrix(name, cost_matrix)
            self.distill_losses[name].set_cost_matrix(cost_matrix)
        return targets

    def cost_matrix_terms(self,
                          names: Optional[Iterable[str]] = None) -> List[str]:
        """The terms among ``names`` (default: all) whose loss takes a cost
        matrix (has ``set_cost_matrix``).

        Raises:
            ValueError: If a name is unknown or none of them takes one.
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
