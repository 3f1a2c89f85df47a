# Copyright (c) OpenMMLab. All rights reserved.
"""What both mmdet detector distillers share.

:class:`BaseDetectorDistiller` sits between :class:`BaseDistiller` (task
independent) and the two detector wrappers,
:class:`~mmkd.models.DetectionDistiller` (two-stage, RoI head) and
:class:`~mmkd.models.SingleStageDistiller` (one-stage, dense head). It owns
the parts that do not depend on the head:

* the construction order (build, check both detectors, parse
  ``distill_inputs``, check teacher/student compatibility) and the refusal
  of ``teacher_trainable``;
* the ``'fpn'`` source: parsing its ``levels``/``level_weights`` keys,
  checking the level counts and widths, and computing the per-level
  weighted sum (:meth:`BaseDetectorDistiller._fpn_term`);
* connector width checks, the ``num_classes`` check of terms that compare
  class outputs, and the size check of WKD-L cost matrices (``num_classes
  + 1``, background last);
* non-finite teacher outputs: skipped, counted in ``nonfinite_teacher`` and
  reported with a warning at the 1st, 2nd, 4th, ... occurrence.

Subclasses set :attr:`BaseDistiller.SOURCES` and ``TERM_KEYS`` and implement
``_check_detector_kind``, ``_parse_term``, ``_check_compatibility``,
``num_classes`` and ``loss``.
"""
import logging
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

from .base_distiller import BaseDistiller, LossValue, ModelSpec

__all__ = ['BaseDetectorDistiller', 'detector_kind']

#: What ``run_teacher``/``term_value`` of a detector step return: the value
#: and how many teacher outputs (RoIs, priors, FPN levels) were non-finite.
WithSkipped = Tuple[Any, int]


def detector_kind(model: nn.Module) -> str:
    """``'two_stage'``, ``'single_stage'`` or ``'other'`` for an mmdet model.

    Duck-typed like the rest of mmkd: a model with an ``roi_head`` is
    two-stage; one whose ``bbox_head`` is an mmdet dense head
    (``BaseDenseHead``: RetinaNet, GFL, FCOS, ATSS, RTMDet, ...) and that
    has no ``roi_head`` is single-stage.

    Args:
        model (nn.Module): The model.

    Returns:
        str: The kind.
    """
    if getattr(model, 'roi_head', None) is not None:
        return 'two_stage'
    head = getattr(model, 'bbox_head', None)
    if head is not None:
        from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
        if isinstance(head, BaseDenseHead):
            return 'single_stage'
    return 'other'


class BaseDetectorDistiller(BaseDistiller):
    """Shared base of the mmdet detector distillers (not registered).

    Args:
        student (dict | nn.Module): The student detector.
        teacher (dict | str | nn.Module): The teacher detector, or the path
            of its config (``'mmdet::...'`` works).
        teacher_ckpt (str, optional): Teacher weights. Defaults to None.
        distill_losses (dict, optional): Term name -> loss config.
            Defaults to None.
        distill_inputs (dict, optional): Term name -> source name or dict;
            see the subclass. Defaults to None.
        connectors (dict, optional): Name -> connector config. Defaults to
            None.
        teacher_ckpt_strict (bool): See :class:`BaseDistiller`. Defaults to
            True.
        teacher_trainable (bool): Not supported for detection yet. Defaults
            to False.
        save_teacher (bool): Keep the teacher in checkpoints. Defaults to
            False.
        data_preprocessor (dict, optional): Defaults to the student's.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    #: The ``distill_inputs`` keys of the ``'fpn'`` source.
    FPN_KEYS: Tuple[str, ...] = ('levels', 'level_weights')
    #: What ``nonfinite_teacher`` counts, for the warning.
    NONFINITE_UNITS = 'RoIs/FPN levels'
    #: The logits a WKD-L cost matrix must match, for messages.
    COST_LOGITS = 'RoI logits'

    def __init__(self,
                 student: ModelSpec,
                 teacher: ModelSpec,
                 teacher_ckpt: Optional[str] = None,
                 distill_losses: Optional[dict] = None,
                 distill_inputs: Optional[dict] = None,
                 connectors: Optional[dict] = None,
                 teacher_ckpt_strict: bool = True,
                 teacher_trainable: bool = False,
                 save_teacher: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if teacher_trainable:
            raise NotImplementedError(
                'teacher_trainable=True is not supported by '
                f'{type(self).__name__}: the teacher has no training losses '
                'here.')
        super().__init__(
            student=student,
            teacher=teacher,
            teacher_ckpt=teacher_ckpt,
            teacher_ckpt_strict=teacher_ckpt_strict,
            distill_losses=distill_losses,
            connectors=connectors,
            teacher_trainable=False,
            save_teacher=save_teacher,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self._check_detector(self.student, 'student')
        self._check_detector(self.teacher, 'teacher')
        self._accepts_weight = {
            name: self._forward_accepts(loss, 'weight')
            for name, loss in self.distill_losses.items()
        }
        self.distill_inputs = self._parse_distill_inputs(distill_inputs)
        self._check_compatibility()
        #: Teacher outputs (RoIs/priors and FPN levels) skipped because the
        #: teacher gave NaN/inf.
        self.nonfinite_skipped = 0
        self._nonfinite_events = 0

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------
    def _check_detector(self, model: nn.Module, role: str) -> None:
        """Raise unless ``model`` is a detector this distiller supports."""
        if not hasattr(model, 'extract_feat'):
            raise TypeError(f'The {role} ({type(model).__name__}) is not an '
                            'mmdet detector (no extract_feat).')
        self._check_detector_kind(model, role)

    def _check_detector_kind(self, model: nn.Module, role: str) -> None:
        """Subclass check: the right kind of detector (two-/one-stage)."""
        raise NotImplementedError

    def _check_compatibility(self) -> None:
        """Subclass check of teacher vs student for every term."""
        raise NotImplementedError

    @property
    def num_classes(self) -> int:
        """Foreground classes of the student's head."""
        raise NotImplementedError

    def _parse_fpn_keys(self, name: str, spec: dict, source: str) -> dict:
        """``levels``/``level_weights`` of one entry (only for ``'fpn'``).

        Returns:
            dict: ``levels`` and ``level_weights`` (None when not given).
        """
        if source != 'fpn' and any(k in spec for k in self.FPN_KEYS):
            raise ValueError(
                f'distill_inputs[{name!r}]: levels/level_weights only '
                f"apply to source 'fpn', not {source!r}.")
        return dict(
            levels=spec.get('levels'),
            level_weights=spec.get('level_weights'))

    def _check_weighted_loss(self, name: str, why: str) -> None:
        """Raise unless the term's loss takes a per-sample ``weight``."""
        if not self._accepts_weight[name]:
            loss = type(self.distill_losses[name]).__name__
            raise ValueError(
                f'distill_inputs[{name!r}]: {why} weights each sample, but '
                f"the loss {loss} takes no 'weight' argument; use a loss "
                "whose forward takes 'weight' and 'avg_factor' (e.g. "
                'mmkd.KDLoss, mmkd.WKDLogitLoss, mmkd.WassersteinBoxLoss).')

    def _check_num_classes(self, name: str, source: str, s_classes: int,
                           t_classes: int, what: str) -> None:
        """Terms comparing class outputs need the same classes."""
        if s_classes != t_classes:
            raise ValueError(
                f'Term {name!r} ({source}) compares {what}, but the student '
                f'has num_classes={s_classes} and the teacher '
                f'num_classes={t_classes}. Both must be trained on the same '
                'classes.')

    def _check_connector(self, term: str, connector: Optional[str],
                         c_student: Optional[int],
                         c_teacher: Optional[int], what: str) -> None:
        """Channel widths of a feature term, with or without a connector."""
        if connector is None:
            if (c_student is not None and c_teacher is not None
                    and c_student != c_teacher):
                raise ValueError(
                    f'Term {term!r}: the student {what} has {c_student} '
                    f'channels and the teacher {what} {c_teacher}; add a '
                    'connector, e.g. connectors=dict(proj=dict('
                    f"type='mmkd.ConvConnector', in_channels={c_student}, "
                    f'out_channels={c_teacher})) and '
                    f"distill_inputs[{term!r}]['connector']='proj'.")
            return
        module = self.connectors[connector]
        c_in = getattr(module, 'in_channels', None)
        c_out = getattr(module, 'out_channels', None)
        if c_in is not None and c_student is not None and c_in != c_student:
            raise ValueError(
                f'Connector {connector!r} of term {term!r} takes {c_in} '
                f'channels but the student {what} has {c_student}.')
        if c_out is not None and c_teacher is not None and \
                c_out != c_teacher:
            raise ValueError(
                f'Connector {connector!r} of term {term!r} gives {c_out} '
                f'channels but the teacher {what} has {c_teacher}.')

    def _check_fpn_term(self, name: str, term: dict) -> None:
        """Necks, level counts, ``levels``/``level_weights`` and widths of
        an ``'fpn'`` term; normalises ``term['levels']`` and
        ``term['level_weights']`` to lists."""
        for role, model in (('student', self.student), ('teacher',
                                                        self.teacher)):
            if not getattr(model, 'with_neck', False):
                raise ValueError(f"Term {name!r} reads 'fpn' but the {role} "
                                 'has no neck.')
        s_neck, t_neck = self.student.neck, self.teacher.neck
        s_n = getattr(s_neck, 'num_outs', None)
        t_n = getattr(t_neck, 'num_outs', None)
        levels = term['levels']
        if levels is None:
            if s_n is not None and t_n is not None and s_n != t_n:
                raise ValueError(
                    f'Term {name!r}: the student FPN has {s_n} levels and '
                    f'the teacher {t_n}; select common levels with '
                    f"distill_inputs[{name!r}]['levels'], e.g. "
                    f'{list(range(min(s_n, t_n)))}.')
        else:
            levels = list(levels)
            bad = [
                lv for lv in levels
                if not isinstance(lv, int) or lv < 0 or (
                    s_n is not None and lv >= s_n) or (
                        t_n is not None and lv >= t_n)
            ]
            if not levels or bad:
                raise ValueError(
                    f'Term {name!r}: invalid FPN levels {levels} (student '
                    f'has {s_n}, teacher {t_n} levels).')
            term['levels'] = levels
        weights = term['level_weights']
        if weights is not None:
            weights = [float(w) for w in weights]
            n_levels = len(levels) if levels is not None else s_n
            if n_levels is not None and len(weights) != n_levels:
                raise ValueError(
                    f'Term {name!r}: {len(weights)} level_weights for '
                    f'{n_levels} FPN levels.')
            term['level_weights'] = weights
        self._check_connector(name, term['connector'],
                              getattr(s_neck, 'out_channels', None),
                              getattr(t_neck, 'out_channels', None),
                              'FPN')

    def _cost_matrix_hint(self, shape: Tuple[int, ...]) -> str:
        """Extra advice of the cost-matrix size error."""
        n = self.num_classes + 1
        if shape == (n - 1, n - 1):
            return (' It looks like a classification matrix without the '
                    'background class; build it with '
                    'tools/build_cost_matrix.py, which adds background '
                    'RoIs as the last class.')
        return ''

    def check_cost_matrix(self, name: str, cost_matrix: Tensor) -> None:
        """The class logits have ``num_classes + 1`` columns (background
        last); the cost matrix must be that square size."""
        n = self.num_classes + 1
        shape = tuple(cost_matrix.shape)
        if shape != (n, n):
            raise ValueError(
                f'Term {name!r}: the cost matrix is {shape} but the '
                f'{self.COST_LOGITS} have {n} columns ({self.num_classes} '
                f'classes + background), so it must be ({n}, {n}).'
                f'{self._cost_matrix_hint(shape)}')

    def _check_cost_matrix_of(self, name: str) -> None:
        """Check a cost matrix the term's loss already holds, if any."""
        cost = getattr(self.distill_losses[name], 'cost_matrix', None)
        if isinstance(cost, Tensor):
            self.check_cost_matrix(name, cost)

    # ------------------------------------------------------------------
    # terms
    # ------------------------------------------------------------------
    def _call_loss_weighted(self,
                            name: str,
                            s: Tensor,
                            t: Tensor,
                            labels: Optional[Tensor] = None,
                            weight: Optional[Tensor] = None) -> LossValue:
        """Call a term's loss; a ``weight`` makes it a weighted mean.

        ``avg_factor`` is the sum of the weights, so the value is
        ``sum_i w_i l_i / sum_i w_i`` (mmdet's convention). Parsing made
        sure that losses given a weight take one.
        """
        if weight is None:
            return self._call_loss(name, s, t, labels)
        kwargs: Dict[str, Any] = dict(
            weight=weight, avg_factor=float(weight.sum()))
        if labels is not None and self._accepts_labels[name]:
            kwargs['labels'] = labels
        return self.distill_losses[name](s, t, **kwargs)

    def _fpn_term(self,
                  name: str,
                  term: dict,
                  x_s: Sequence[Tensor],
                  x_t: Sequence[Tensor],
                  masks: Optional[Sequence[Tensor]] = None
                  ) -> Tuple[LossValue, int]:
        """One ``'fpn'`` term: the weighted sum of the loss over levels.

        Args:
            name (str): The term.
            term (dict): Its parsed entry.
            x_s (Sequence[Tensor]): Student neck outputs.
            x_t (Sequence[Tensor]): Teacher neck outputs.
            masks (Sequence[Tensor], optional): Per level, an (N, 1, H, W)
                mask multiplied into both sides (after the connector).
                Defaults to None.

        Returns:
            tuple: The value and the number of non-finite teacher levels
            skipped.
        """
        levels = term['levels']
        if levels is None:
            if len(x_s) != len(x_t):
                raise ValueError(
                    f'Term {name!r}: the student neck gave {len(x_s)} levels '
                    f"and the teacher's {len(x_t)}; select common levels "
                    f"with distill_inputs[{name!r}]['levels'].")
            levels = list(range(len(x_s)))
        weights = term['level_weights'] or [1.0] * len(levels)
        if len(weights) != len(levels):
            raise ValueError(f'Term {name!r}: {len(weights)} level_weights '
                             f'for {len(levels)} FPN levels.')
        connector = term['connector']
        total: Union[Tensor, Dict[str, Tensor]] = self._zero(
            x_s[0], connector)
        skipped = 0
        for level, weight in zip(levels, weights):
            t = x_t[level]
            if not bool(torch.isfinite(t).all()):
                skipped += 1
                continue
            s = x_s[level].float()
            if connector is not None:
                s = self.connectors[connector](s)
            if s.shape != t.shape:
                raise ValueError(
                    f'Term {name!r}: FPN level {level} is {tuple(s.shape)} '
                    f'for the student (after the connector) and '
                    f'{tuple(t.shape)} for the teacher.')
            t = t.float()
            if masks is not None:
                mask = masks[level].to(s.dtype)
                s, t = s * mask, t * mask
            value = self._call_loss(name, s, t)
            if isinstance(value, dict):
                if not isinstance(total, dict):
                    total = {k: total for k in value}
                for key, val in value.items():
                    total[key] = total[key] + weight * val
            else:
                total = total + weight * value
        return total, skipped

    def _detector_terms(
            self, inputs: Tensor, ref: Tensor,
            run_teacher: Callable[[Tensor], WithSkipped],
            term_value: Callable[[str, dict, Any], WithSkipped]) -> dict:
        """:meth:`BaseDistiller.compute_terms` plus the non-finite count.

        Args:
            inputs (Tensor): The student's preprocessed batch.
            ref (Tensor): A student output the zeros are connected to.
            run_teacher (callable): ``run_teacher(teacher_inputs)`` ->
                ``(teacher_out, n_skipped)``.
            term_value (callable): ``term_value(name, term, teacher_out)``
                -> ``(value, n_skipped)``.

        Returns:
            dict: Term name (or the keys of a dict-valued loss) -> value,
            plus ``nonfinite_teacher`` (count of skipped teacher outputs).
        """
        skipped = [0]

        def run(t_inputs: Tensor) -> Any:
            out, n_bad = run_teacher(t_inputs)
            skipped[0] += n_bad
            return out

        def value(name: str, term: dict, teacher_out: Any) -> LossValue:
            val, n_bad = term_value(name, term, teacher_out)
            skipped[0] += n_bad
            return val

        out = self.compute_terms(inputs, ref, run, value)
        if skipped[0]:
            self._report_nonfinite(skipped[0])
        # float32: under autocast ref is float16/bfloat16, which would
        # round a count above 2048/256.
        out['nonfinite_teacher'] = ref.new_tensor(
            float(skipped[0]), dtype=torch.float32)
        return out

    def _report_nonfinite(self, skipped: int) -> None:
        """Count skipped teacher outputs; warn at the 1st, 2nd, 4th, ...
        step with any."""
        self.nonfinite_skipped += skipped
        self._nonfinite_events += 1
        n = self._nonfinite_events
        if n & (n - 1) == 0:  # 1st, 2nd, 4th, 8th, ... occurrence
            print_log(
                f'The teacher produced NaN/inf outputs: skipped {skipped} '
                f'{self.NONFINITE_UNITS} in this step '
                f'({self.nonfinite_skipped} in {n} steps so far). Check the '
                'teacher checkpoint and its input normalisation.',
                logger='current',
                level=logging.WARNING)
