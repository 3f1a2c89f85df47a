# Copyright (c) OpenMMLab. All rights reserved.
"""What both mmdet detector distillers share.

:class:`BaseDetectorDistiller` sits between :class:`BaseDistiller` (task
independent) and the two detector wrappers,
:class:`~mmkd.models.DetectionDistiller` (two-stage, RoI head) and
:class:`~mmkd.models.SingleStageDistiller` (one-stage, dense head). It owns
the parts that do not depend on the head:

* the ``'fpn'`` source's keys (``levels``, ``level_weights``), the checks of
  its level counts and widths, and the per-level weighted sum
  (:meth:`BaseDetectorDistiller._fpn_term`);
* the ``num_classes`` check of terms that compare class outputs, and the
  size check of WKD-L cost matrices (``num_classes + 1``, background last);
* non-finite teacher outputs: skipped, counted in ``nonfinite_teacher`` and
  reported with a warning at the 1st, 2nd, 4th, ... occurrence.

Subclasses set ``SOURCES`` and ``TERM_KEYS`` and implement
``_check_detector_kind``, ``_check_compatibility``, ``num_classes``,
``loss``, ``_run_teacher`` and ``_term``.
"""
import logging
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

from mmkd.stack import require_detection
from .base_distiller import BaseDistiller, LossValue
from .step import StepContext
from .terms import TermKey

__all__ = ['BaseDetectorDistiller', 'FPN_KEYS']

#: The ``distill_inputs`` keys of an ``'fpn'`` source.
FPN_KEYS = ('connector', 'levels', 'level_weights')


class BaseDetectorDistiller(BaseDistiller):
    """Shared base of the mmdet detector distillers (not registered).

    Takes the arguments of :class:`BaseDistiller`; the student and the
    teacher are mmdet detectors of the kind the subclass supports (the
    teacher may be given as the path of its config, ``'mmdet::...'``
    works).
    """

    TERM_KEYS = dict(
        BaseDistiller.TERM_KEYS, levels=TermKey(), level_weights=TermKey())
    #: What ``nonfinite_teacher`` counts, for the warning.
    NONFINITE_UNITS = 'RoIs/FPN levels'
    #: The logits a WKD-L cost matrix must match, for messages.
    COST_LOGITS = 'RoI logits'

    #: Teacher outputs (RoIs/priors and FPN levels) skipped because the
    #: teacher gave NaN/inf (an instance count once any was).
    nonfinite_skipped = 0
    _nonfinite_events = 0

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------
    def _check_requirements(self) -> None:
        """mmdet and mmcv's compiled ops (RoIAlign, NMS)."""
        require_detection(type(self).__name__)

    def _check_models(self) -> None:
        """Both models are detectors of the subclass's kind."""
        for role, model in (('student', self.student), ('teacher',
                                                        self.teacher)):
            if not hasattr(model, 'extract_feat'):
                raise TypeError(
                    f'The {role} ({type(model).__name__}) is not an mmdet '
                    'detector (no extract_feat).')
            self._check_detector_kind(model, role)

    def _check_detector_kind(self, model: nn.Module, role: str) -> None:
        """Subclass check: the right kind of detector (two-/one-stage)."""
        raise NotImplementedError

    @property
    def num_classes(self) -> int:
        """Foreground classes of the student's head."""
        raise NotImplementedError

    def _check_num_classes(self, name: str, source: str, s_classes: int,
                           t_classes: int, what: str) -> None:
        """Terms comparing class outputs need the same classes."""
        if s_classes != t_classes:
            raise ValueError(
                f'Term {name!r} ({source}) compares {what}, but the student '
                f'has num_classes={s_classes} and the teacher '
                f'num_classes={t_classes}. Both must be trained on the same '
                'classes.')

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
        self.check_connector(name, getattr(s_neck, 'out_channels', None),
                             getattr(t_neck, 'out_channels', None), 'FPN')

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

    # ------------------------------------------------------------------
    # terms
    # ------------------------------------------------------------------
    def _fpn_term(self,
                  name: str,
                  term: dict,
                  ctx: StepContext,
                  x_t: Sequence[Tensor],
                  masks: Optional[Sequence[Tensor]] = None) -> LossValue:
        """One ``'fpn'`` term: the weighted sum of the loss over levels.

        Non-finite teacher levels are skipped and counted in
        ``ctx.skipped``.

        Args:
            name (str): The term.
            term (dict): Its parsed entry.
            ctx (StepContext): The step; ``ctx.student['x_s']`` holds the
                student's neck outputs.
            x_t (Sequence[Tensor]): Teacher neck outputs.
            masks (Sequence[Tensor], optional): Per level, an (N, 1, H, W)
                mask multiplied into both sides (after the connector).
                Defaults to None.

        Returns:
            Tensor | dict: The value.
        """
        x_s = ctx.student['x_s']
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
        for level, weight in zip(levels, weights):
            t = x_t[level]
            if not bool(torch.isfinite(t).all()):
                ctx.skipped += 1
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
        return total

    def _finish_step(self, ctx: StepContext, out: Dict[str, Tensor]) -> None:
        """Report skipped teacher outputs and add ``nonfinite_teacher``."""
        if ctx.skipped:
            self._report_nonfinite(ctx.skipped)
        # float32: under autocast ref is float16/bfloat16, which would
        # round a count above 2048/256.
        out['nonfinite_teacher'] = ctx.ref.new_tensor(
            float(ctx.skipped), dtype=torch.float32)

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
