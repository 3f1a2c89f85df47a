# Copyright (c) OpenMMLab. All rights reserved.
"""Task-independent part of mmkd's distillers.

:class:`BaseDistiller` builds the student and the teacher
(:mod:`mmkd.models.builder`), loads and freezes the teacher
(:mod:`mmkd.models.checkpoint_io`), keeps it in eval mode and out of
checkpoints, builds the distillation losses and connectors and reads each
loss's contract (:mod:`mmkd.losses.contract`). It parses ``distill_inputs``
against the task's ``SOURCES`` and ``TERM_KEYS`` tables
(:mod:`~mmkd.models.distillers.terms`) and runs the step template
:meth:`BaseDistiller.distill_step`: the teacher once under ``no_grad``
(``_run_teacher``), then every term in float32 outside autocast (``_term``),
scaled by its schedule. It also exposes the small API the mmkd hooks drive
(weight scale, distillation on/off, cost matrices).

Task wrappers (:class:`~mmkd.models.DetectionDistiller`,
:class:`~mmkd.models.SingleStageDistiller`,
:class:`~mmkd.models.ClassificationDistiller`) declare their tables and
implement ``loss``, ``_run_teacher``, ``_term`` and their checks;
``docs/architecture.md`` follows one term through them.
"""
from typing import Any, Dict, Iterable, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from torch import Tensor

from mmkd.losses.contract import LossContract, loss_contract
from mmkd.losses.utils import graph_zero
from ..builder import (ModelSpec, build_children, build_model,
                       distiller_data_preprocessor)
from ..checkpoint_io import (as_distiller_state, drop_teacher_state,
                             ignore_missing_teacher, load_checkpoint_into)
from ..teacher_normalization import InputRenormalizer
from .step import StepContext
from .terms import Source, TermKey, parse_term

__all__ = ['BaseDistiller', 'LossValue']

#: What a distillation loss returns: a tensor or a dict of named tensors.
LossValue = Union[Tensor, Dict[str, Tensor]]


class BaseDistiller(BaseModel):
    """Student + frozen teacher + distillation losses.

    Args:
        student (dict | str | nn.Module): The student model config, config
            file or module.
        teacher (dict | str | nn.Module): The teacher model config, a config
            file whose ``model`` is the teacher (a local path or a
            ``'mmdet::faster_rcnn/xxx.py'``-style package path), or a module.
        teacher_ckpt (str, optional): Checkpoint of the teacher, loaded in
            ``__init__`` (local path or URL). Its weights are protected from
            the runner's ``init_weights``. Defaults to None.
        distill_losses (dict, optional): Name -> loss config. Names must
            contain ``'loss'`` so that mmengine optimises them. Defaults to
            None.
        distill_inputs (dict, optional): Term name -> what the term reads:
            a source name of ``SOURCES`` or a dict with ``source`` and the
            keys of ``TERM_KEYS`` the source takes, plus ``scheduled``
            (whether :meth:`set_distill_weight_scale` affects the term,
            default True). Every term needs an entry.
        connectors (dict, optional): Name -> connector config (student-side
            trainable adapters). Defaults to None.
        teacher_ckpt_strict (bool): Raise when the checkpoint keys do not
            match the teacher (the mismatched keys are listed either way).
            Defaults to True.
        student_ckpt (str, optional): Weights the student starts from (the
            formats :func:`~mmkd.models.checkpoint_io.load_checkpoint_into`
            reads, e.g. a CRD CIFAR checkpoint), loaded strictly and
            protected from the runner's ``init_weights``. Defaults to None.
        teacher_trainable (bool): Not supported (raises): the teacher has no
            training losses in these distillers; online distillation is
            :class:`~mmkd.models.BDKDOnlineDistiller`. Defaults to False.
        save_teacher (bool): Keep the teacher in ``state_dict()`` and hence in
            the runner's checkpoints. Defaults to False.
        data_preprocessor (dict | nn.Module, optional): Defaults to the
            student's own ``data_preprocessor``, so that the teacher sees the
            same inputs as the student.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    #: Source name -> :class:`~mmkd.models.distillers.terms.Source`; set by
    #: each task wrapper. The first one is the example in error messages.
    SOURCES: Dict[str, Source] = {}
    #: Key -> :class:`~mmkd.models.distillers.terms.TermKey` of the
    #: ``distill_inputs`` entries (beyond ``source`` and ``scheduled``).
    TERM_KEYS: Dict[str, TermKey] = dict(connector=TermKey())
    #: Whether a teacher ``data_preprocessor`` that does not normalise means
    #: "not configured" (see :class:`~mmkd.models.teacher_normalization.
    #: InputRenormalizer`).
    UNNORMALISED_TEACHER_IS_UNSET = False
    #: The type given to an untyped ``data_preprocessor`` dict (see
    #: :func:`~mmkd.models.builder.distiller_data_preprocessor`).
    UNTYPED_PREPROCESSOR: Optional[str] = None

    def __init__(self,
                 student: ModelSpec,
                 teacher: ModelSpec,
                 teacher_ckpt: Optional[str] = None,
                 distill_losses: Optional[dict] = None,
                 distill_inputs: Optional[dict] = None,
                 connectors: Optional[dict] = None,
                 teacher_ckpt_strict: bool = True,
                 student_ckpt: Optional[str] = None,
                 teacher_trainable: bool = False,
                 save_teacher: bool = False,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        self._check_requirements()
        if teacher_trainable:
            raise NotImplementedError(
                f'teacher_trainable=True is not supported by '
                f'{type(self).__name__} (the teacher has no training losses '
                'here); use mmkd.BDKDOnlineDistiller for online '
                'distillation.')
        student = build_model(student, 'student')
        super().__init__(
            data_preprocessor=distiller_data_preprocessor(
                data_preprocessor, student, self.UNTYPED_PREPROCESSOR),
            init_cfg=init_cfg)
        self.student = student
        self.teacher = build_model(teacher, 'teacher')
        self.teacher_ckpt = teacher_ckpt
        #: The teacher's config file when given as one (for records).
        self.teacher_config = teacher if isinstance(teacher, str) else None
        self.save_teacher = bool(save_teacher)
        if teacher_ckpt is not None:
            self.load_teacher_checkpoint(teacher_ckpt,
                                         strict=teacher_ckpt_strict)
        self.freeze_teacher()
        if student_ckpt is not None:
            load_checkpoint_into(self.student, student_ckpt, role='student')
            self.student._is_init = True

        self.distill_losses = build_children(distill_losses,
                                             'distill_losses')
        for name in self.distill_losses:
            if 'loss' not in name:
                raise ValueError(
                    f'distill_losses key {name!r} does not contain \'loss\', '
                    'so mmengine would log it but never optimise it. '
                    f"Rename it, e.g. 'loss_{name}'.")
        self.connectors = build_children(connectors, 'connectors')
        #: Term name -> what its loss takes (:func:`loss_contract`).
        self.contracts: Dict[str, LossContract] = {
            name: loss_contract(loss)
            for name, loss in self.distill_losses.items()
        }
        self.distill_enabled = True
        self._weight_scale: Dict[str, float] = {}
        # The attribute the schedule scales (WKD-L's lambda), at its
        # configured value; the target term keeps its weight.
        self._base_scheduled = {
            name: float(getattr(self.distill_losses[name], c.scheduled_attr))
            for name, c in self.contracts.items() if c.scheduled_attr
        }
        self.register_state_dict_post_hook(drop_teacher_state)
        self.register_load_state_dict_post_hook(ignore_missing_teacher)
        self._renorm = InputRenormalizer.between(
            self.data_preprocessor,
            getattr(self.teacher, 'data_preprocessor', None),
            self.UNNORMALISED_TEACHER_IS_UNSET)
        self._check_models()
        self.distill_inputs = self._parse_distill_inputs(distill_inputs)
        self._check_compatibility()
        for name, contract in self.contracts.items():
            if contract.holds_cost_matrix:
                self._check_held_cost_matrix(name)

    # ------------------------------------------------------------------
    # checks the task wrappers implement
    # ------------------------------------------------------------------
    def _check_requirements(self) -> None:
        """Raise an ``ImportError`` naming the fix unless the packages the
        wrapper needs are installed (:mod:`mmkd.stack`)."""

    def _check_models(self) -> None:
        """Raise unless the student and the teacher suit the wrapper."""

    def _check_compatibility(self) -> None:
        """Teacher vs student for every parsed term."""

    def _parse_term(self, name: str, term: dict) -> dict:
        """The rules that tie the fields of one term together.

        Args:
            name (str): The term.
            term (dict): Its entry, validated against the tables and with
                the defaults filled in.

        Returns:
            dict: Fields to add to (or replace in) the entry.
        """
        return {}

    def check_cost_matrix(self, name: str, cost_matrix: Tensor) -> None:
        """Task-specific size check of a term's cost matrix."""

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
        """Set the train mode; the frozen teacher always stays in eval mode
        (BatchNorm statistics and dropout are those it was trained with)."""
        super().train(mode)
        self.teacher.train(False)
        return self

    def teacher_inputs(self, inputs: Tensor) -> Tensor:
        """The student's preprocessed batch in the teacher's normalisation
        (``inputs`` itself when both normalise alike; see
        :class:`~mmkd.models.teacher_normalization.InputRenormalizer`)."""
        return inputs if self._renorm is None else self._renorm(inputs)

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
        """Validate ``distill_inputs`` against the terms, the tables and the
        connectors (:func:`~mmkd.models.distillers.terms.parse_term`), then
        apply the wrapper's :meth:`_parse_term`.

        Returns:
            dict: Term name -> parsed entry.

        Raises:
            ValueError: If a term has no entry, an entry names no term, or
                an entry has an unknown key, source, value or connector.
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
            term = parse_term(name, spec, self.SOURCES, self.TERM_KEYS)
            connector = term.get('connector')
            if connector is not None and connector not in self.connectors:
                raise ValueError(
                    f'distill_inputs[{name!r}] uses connector {connector!r}, '
                    f'which is not in connectors {list(self.connectors)}.')
            term.update(self._parse_term(name, term))
            parsed[name] = term
        return parsed

    def _require_weight(self, name: str, why: str) -> None:
        """Raise unless the term's loss takes a per-sample ``weight``."""
        if not self.contracts[name].accepts_weight:
            loss = type(self.distill_losses[name]).__name__
            raise ValueError(
                f'distill_inputs[{name!r}]: {why} weights each sample, but '
                f"the loss {loss} takes no 'weight' argument; use a loss "
                "whose forward takes 'weight' and 'avg_factor' (e.g. "
                'mmkd.KDLoss, mmkd.WKDLogitLoss, mmkd.WassersteinBoxLoss).')

    def check_connector(self, name: str, c_student: Optional[int],
                        c_teacher: Optional[int], what: str,
                        example: str = 'mmkd.ConvConnector') -> None:
        """Channel widths of a feature term, with or without its connector.

        Args:
            name (str): The term.
            c_student (int, optional): Width of the student's feature
                (None: unknown, not checked).
            c_teacher (int, optional): Width of the teacher's.
            what (str): What the feature is, for messages (``'FPN'``).
            example (str): The connector type the message suggests.

        Raises:
            ValueError: If the widths differ without a connector, or the
                connector does not map one to the other.
        """
        connector = self.distill_inputs[name].get('connector')
        if connector is None:
            if c_student is not None and c_teacher is not None and \
                    c_student != c_teacher:
                raise ValueError(
                    f"Term {name!r}: the student's {what} has {c_student} "
                    f"channels and the teacher's {c_teacher}; add a "
                    f"connector (a projector), e.g. connectors=dict(proj="
                    f"dict(type='{example}', in_channels={c_student}, "
                    f'out_channels={c_teacher})) and '
                    f"distill_inputs[{name!r}]['connector']='proj'.")
            return
        module = self.connectors[connector]
        c_in = getattr(module, 'in_channels', None)
        c_out = getattr(module, 'out_channels', None)
        if c_in is not None and c_student is not None and c_in != c_student:
            raise ValueError(
                f'Connector {connector!r} of term {name!r} takes {c_in} '
                f"channels but the student's {what} has {c_student}; set "
                f'in_channels={c_student}.')
        if c_out is not None and c_teacher is not None and \
                c_out != c_teacher:
            raise ValueError(
                f'Connector {connector!r} of term {name!r} gives {c_out} '
                f"channels but the teacher's {what} has {c_teacher}; set "
                f'out_channels={c_teacher}.')

    def _check_held_cost_matrix(self, name: str) -> None:
        """Check the cost matrix a term's loss already holds, if any."""
        cost = getattr(self.distill_losses[name], 'cost_matrix', None)
        if isinstance(cost, Tensor):
            self.check_cost_matrix(name, cost)

    # ------------------------------------------------------------------
    # the step
    # ------------------------------------------------------------------
    def _zero(self, ref: Tensor, connector: Optional[str] = None) -> Tensor:
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
                   labels: Optional[Tensor] = None,
                   weight: Optional[Tensor] = None,
                   **extra: Tensor) -> LossValue:
        """Call a term's loss with what its contract takes.

        ``labels`` reach losses that accept them; a ``weight`` makes the
        value a weighted mean (``avg_factor`` is the sum of the weights:
        ``sum_i w_i l_i / sum_i w_i``, mmdet's convention; parsing made
        sure the loss takes one); ``extra`` (e.g. ``logits_s``) is passed
        as is.
        """
        kwargs: Dict[str, Any] = dict(extra)
        if labels is not None and self.contracts[name].accepts_labels:
            kwargs['labels'] = labels
        if weight is not None:
            kwargs.update(weight=weight, avg_factor=float(weight.sum()))
        return self.distill_losses[name](s, t, **kwargs)

    def distill_step(self, ctx: StepContext) -> Dict[str, Tensor]:
        """Run the teacher and compute every distillation term.

        The template every task shares. When distillation is off, every
        term is a graph-connected zero (the teacher does not run).
        Otherwise :meth:`_run_teacher` runs once under ``no_grad`` on
        :meth:`teacher_inputs`, then :meth:`_term` computes each term in
        float32 outside autocast, multiplied by its schedule factor (see
        :meth:`set_distill_weight_scale`; 1 for ``scheduled=False``).

        Args:
            ctx (StepContext): What the student's forward gave.

        Returns:
            dict: Term name, or the keys of a dict-valued loss, -> value,
            plus what :meth:`_finish_step` adds.
        """
        if not self.distill_losses:
            return {}
        out: Dict[str, Tensor] = {}
        if not self.distill_enabled:
            for name, term in self.distill_inputs.items():
                out[name] = self._zero(ctx.ref, term.get('connector'))
            self._finish_step(ctx, out)
            return out
        with torch.no_grad():
            teacher = self._run_teacher(ctx, self.teacher_inputs(ctx.inputs))
        with torch.autocast(device_type=ctx.inputs.device.type,
                            enabled=False):
            for name, term in self.distill_inputs.items():
                value = self._term(name, term, ctx, teacher)
                scale = (
                    self._weight_scale.get(name, 1.0)
                    if term['scheduled'] else 1.0)
                if isinstance(value, dict):
                    for key, val in value.items():
                        out[key] = val * scale
                else:
                    out[name] = value * scale
        self._finish_step(ctx, out)
        return out

    def _run_teacher(self, ctx: StepContext, t_inputs: Tensor) -> Any:
        """What the teacher gives the terms (runs under ``no_grad``).

        Args:
            ctx (StepContext): The step.
            t_inputs (Tensor): The batch in the teacher's normalisation.
        """
        raise NotImplementedError

    def _term(self, name: str, term: dict, ctx: StepContext,
              teacher: Any) -> LossValue:
        """The value of one term (float32, autocast off).

        Args:
            name (str): The term.
            term (dict): Its parsed ``distill_inputs`` entry.
            ctx (StepContext): The step.
            teacher: What :meth:`_run_teacher` returned.
        """
        raise NotImplementedError

    def _finish_step(self, ctx: StepContext, out: Dict[str, Tensor]) -> None:
        """Add step-level entries to ``out`` (e.g. counts); in place."""

    # ------------------------------------------------------------------
    # checkpoints
    # ------------------------------------------------------------------
    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Accept a plain student state dict (e.g. an exported student or a
        student trained without distillation)."""
        as_distiller_state(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def student_state_dict(self) -> Dict[str, Tensor]:
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

        For a loss whose contract names a ``scheduled_attr`` (WKD-L's
        ``wd_weight``) only that attribute is scaled, as in the official
        code; the target term ``L_t`` keeps its weight. For the other terms
        the whole term is scaled.

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
            if name in self._base_scheduled:
                setattr(self.distill_losses[name],
                        self.contracts[name].scheduled_attr,
                        self._base_scheduled[name] * scale)
                self._weight_scale[name] = 1.0
            else:
                self._weight_scale[name] = scale

    def get_distill_weight_scale(self, name: str) -> float:
        """The current schedule factor of a term (1.0 unless scheduled)."""
        self._check_term_names([name])
        if name in self._base_scheduled:
            base = self._base_scheduled[name]
            current = float(
                getattr(self.distill_losses[name],
                        self.contracts[name].scheduled_attr))
            return current / base if base else 1.0
        return self._weight_scale.get(name, 1.0)

    def set_distillation_enabled(self, enabled: bool) -> None:
        """Switch distillation on or off (the teacher is not run when off;
        the distillation keys stay in the loss dict as zeros)."""
        self.distill_enabled = bool(enabled)

    def set_cost_matrix(self,
                        cost_matrix: Tensor,
                        names: Optional[Iterable[str]] = None) -> List[str]:
        """Give a cost matrix to every term (or ``names``) whose loss holds
        one, after checking its size.

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
        """The terms among ``names`` (default: all) whose loss holds a cost
        matrix (contract ``holds_cost_matrix``).

        Raises:
            ValueError: If a name is unknown or none of them takes one.
        """
        names = self._check_term_names(names)
        targets = [n for n in names if self.contracts[n].holds_cost_matrix]
        if not targets:
            raise ValueError(
                f'None of the terms {names} takes a cost matrix (no '
                '`set_cost_matrix` method); is WKD-L configured?')
        return targets

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
