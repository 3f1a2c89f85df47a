# Copyright (c) OpenMMLab. All rights reserved.
"""BD-KD: balanced forward / reverse KL for online distillation.

Amara et al., "BD-KD: Balancing the Divergences for Online Knowledge
Distillation" (docs/methods.md section 7). With ``p = softmax(z / tau)``:

* student: ``CE + tau^2 * mean_i [d1_i KL(p_T || p_S) + d2_i KL(p_S || p_T)]``
  with the teacher probabilities constant;
* teacher: ``CE + tau^2 * KL(p_S || p_T)``, the reverse KL as a regulariser
  towards the constant student.

``d1`` (forward KL) and ``d2`` (reverse KL) are per-sample weights driven by
the entropy gap ``dH_i = H(p_S_i) - H(p_T_i)`` and carry no gradient. The
paper's exact weighting was not available; ``weighting`` chooses one:

============  =========================================================
``'hard'``    ``d2 = 1[dH > 0]``, ``d1 = 1 - d2`` (the default)
``'sigmoid'`` ``d2 = sigmoid(dH / gap_temperature)``, ``d1 = 1 - d2``
``'none'``    ``d1 = d2 = 1`` (the paper's unweighted ablation)
``'forward'`` ``d1 = 1``, ``d2 = 0`` (plain online KD, as DML)
============  =========================================================

Rationale of the direction: a student less confident than the teacher
(``dH > 0``) gets the mode-seeking reverse KL, which sharpens it; an
over-confident student (``dH < 0``) gets the mass-covering forward KL,
which penalises it for missing the teacher's mass and softens it. Both
steer the student's confidence towards the teacher's.
"""
from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from mmkd.utils.checks import check_choice as _check_choice
from .contract import DistillLoss
from .utils import (autocast_disabled, check_logits_pair, check_positive,
                    check_reduction, compute_dtype, weight_reduce_loss)

__all__ = [
    'BDKD_WEIGHTINGS', 'TEACHER_KL_DIRECTIONS', 'EntropyGapWeights',
    'kl_divergence_logits', 'entropy_gap_weights', 'bdkd_student_loss',
    'bdkd_teacher_loss', 'BDKDStudentLoss', 'BDKDTeacherLoss'
]

#: The values of ``weighting``.
BDKD_WEIGHTINGS = ('hard', 'sigmoid', 'none', 'forward')
#: The values of the teacher loss ``direction``.
TEACHER_KL_DIRECTIONS = ('reverse', 'forward')


class EntropyGapWeights(NamedTuple):
    """Per-sample weights (no gradient) and the entropy gap, each (N, )."""
    forward: Tensor
    reverse: Tensor
    gap: Tensor


def kl_divergence_logits(logits_p: Tensor,
                         logits_q: Tensor,
                         tau: float = 1.0) -> Tensor:
    """Per-sample ``KL(p || q)``, ``p = softmax(logits_p / tau)``.

    Computed as ``F.kl_div(log q, log p, log_target=True)`` summed over
    classes; gradients flow into both arguments.

    Args:
        logits_p (torch.Tensor): Logits of p, shape (N, C).
        logits_q (torch.Tensor): Logits of q, shape (N, C).
        tau (float): Temperature. Defaults to 1.0.

    Returns:
        torch.Tensor: KL of shape (N, ), never NaN for finite logits.
    """
    log_p = F.log_softmax(logits_p / tau, dim=1)
    log_q = F.log_softmax(logits_q / tau, dim=1)
    return F.kl_div(
        log_q, log_p, reduction='none', log_target=True).sum(dim=1)


def _entropy(logits: Tensor, tau: float) -> Tensor:
    log_p = F.log_softmax(logits / tau, dim=1)
    return -(log_p.exp() * log_p).sum(dim=1)


def entropy_gap_weights(logits_s: Tensor,
                        logits_t: Tensor,
                        tau: float = 1.0,
                        weighting: str = 'hard',
                        gap_temperature: float = 1.0) -> EntropyGapWeights:
    """BD-KD sample weights from ``dH = H(p_S) - H(p_T)`` (no gradient).

    Args:
        logits_s (torch.Tensor): Student logits (N, C).
        logits_t (torch.Tensor): Teacher logits (N, C).
        tau (float): Temperature of the distributions whose entropies are
            compared (the distillation temperature). Defaults to 1.0.
        weighting (str): One of :data:`BDKD_WEIGHTINGS`. Defaults to
            ``'hard'``.
        gap_temperature (float): Scale of the gap in ``'sigmoid'`` (in
            nats). Defaults to 1.0.

    Returns:
        EntropyGapWeights: ``forward`` (d1), ``reverse`` (d2) and ``gap``,
        each of shape (N, ), detached.
    """
    _check_choice('weighting', weighting, BDKD_WEIGHTINGS)
    check_positive('tau', tau)
    check_positive('gap_temperature', gap_temperature)
    with torch.no_grad():
        gap = _entropy(logits_s, tau) - _entropy(logits_t, tau)
        if weighting == 'hard':
            reverse = (gap > 0).to(gap.dtype)
            forward = 1 - reverse
        elif weighting == 'sigmoid':
            reverse = torch.sigmoid(gap / gap_temperature)
            forward = 1 - reverse
        elif weighting == 'none':
            forward = reverse = torch.ones_like(gap)
        else:
            forward, reverse = torch.ones_like(gap), torch.zeros_like(gap)
    return EntropyGapWeights(forward, reverse, gap)


def bdkd_student_loss(logits_s: Tensor,
                      logits_t: Tensor,
                      tau: float = 4.0,
                      weighting: str = 'hard',
                      gap_temperature: float = 1.0) -> Tensor:
    """Per-sample BD-KD student distillation term.

    ``tau^2 * (d1 * KL(p_T || p_S) + d2 * KL(p_S || p_T))`` with the
    teacher logits detached and ``d1``, ``d2`` from
    :func:`entropy_gap_weights`.

    Args:
        logits_s (torch.Tensor): Student logits (N, C).
        logits_t (torch.Tensor): Teacher logits (N, C); treated as
            constant.
        tau (float): Temperature. Defaults to 4.0.
        weighting (str): One of :data:`BDKD_WEIGHTINGS`. Defaults to
            ``'hard'``.
        gap_temperature (float): Gap scale of ``'sigmoid'``. Defaults to
            1.0.

    Returns:
        torch.Tensor: The loss of each sample, shape (N, ).
    """
    check_logits_pair(logits_s, logits_t)
    logits_t = logits_t.detach()
    weights = entropy_gap_weights(logits_s, logits_t, tau, weighting,
                                  gap_temperature)
    forward_kl = kl_divergence_logits(logits_t, logits_s, tau)
    reverse_kl = kl_divergence_logits(logits_s, logits_t, tau)
    return tau**2 * (weights.forward * forward_kl +
                     weights.reverse * reverse_kl)


def bdkd_teacher_loss(logits_t: Tensor,
                      logits_s: Tensor,
                      tau: float = 4.0,
                      direction: str = 'reverse') -> Tensor:
    """Per-sample BD-KD teacher regulariser, the student held constant.

    ``'reverse'`` is ``tau^2 * KL(p_S || p_T)``: the reverse KL in the
    paper's notation (student first), i.e. the teacher is fitted to the
    student's soft labels. ``'forward'`` is ``tau^2 * KL(p_T || p_S)``.

    Args:
        logits_t (torch.Tensor): Teacher logits (N, C).
        logits_s (torch.Tensor): Student logits (N, C); treated as
            constant.
        tau (float): Temperature. Defaults to 4.0.
        direction (str): ``'reverse'`` or ``'forward'``. Defaults to
            ``'reverse'``.

    Returns:
        torch.Tensor: The loss of each sample, shape (N, ).
    """
    _check_choice('direction', direction, TEACHER_KL_DIRECTIONS)
    check_positive('tau', tau)
    check_logits_pair(logits_s, logits_t)
    logits_s = logits_s.detach()
    if direction == 'reverse':
        return tau**2 * kl_divergence_logits(logits_s, logits_t, tau)
    return tau**2 * kl_divergence_logits(logits_t, logits_s, tau)


class _LogitPairLoss(DistillLoss, nn.Module):
    """Shared constructor checks and reduction of the two BD-KD terms."""

    accepts_weight = True

    def __init__(self, tau: float, reduction: str,
                 loss_weight: float) -> None:
        super().__init__()
        check_positive('tau', tau)
        check_reduction(reduction)
        if not (isinstance(loss_weight, (int, float)) and loss_weight >= 0):
            raise ValueError(
                f'loss_weight must be a number >= 0, got {loss_weight!r}')
        self.tau = float(tau)
        self.reduction = reduction
        self.loss_weight = loss_weight

    def _per_sample(self, pred: Tensor, target: Tensor) -> Tensor:
        """The term per sample (N, ), in the compute dtype."""
        raise NotImplementedError

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the term, in float32 at least with autocast off.

        Args:
            pred (torch.Tensor): Logits (N, C) of the network this term
                trains (the student for :class:`BDKDStudentLoss`, the
                teacher for :class:`BDKDTeacherLoss`).
            target (torch.Tensor): The other network's logits (N, C), a
                constant.
            weight (torch.Tensor, optional): Per-sample weight (N, ).
                Defaults to None.
            avg_factor (float, optional): Divisor of the summed loss.
                Defaults to None.
            reduction_override (str, optional): Overrides ``reduction``.
                Defaults to None.

        Returns:
            torch.Tensor: The reduced loss.
        """
        check_reduction(reduction_override, allow_none=True)
        dtype = compute_dtype(pred, target)
        with autocast_disabled(pred.device):
            loss = self._per_sample(pred.to(dtype), target.to(dtype))
        return self.loss_weight * weight_reduce_loss(
            loss, weight, reduction_override or self.reduction, avg_factor)


@MODELS.register_module()
class BDKDStudentLoss(_LogitPairLoss):
    """BD-KD student term: entropy-gap weighted forward + reverse KL.

    See :func:`bdkd_student_loss`. Computed in float32 at least, autocast
    off.

    Args:
        tau (float): Temperature. Defaults to 4.0.
        weighting (str): ``'hard'``, ``'sigmoid'``, ``'none'`` or
            ``'forward'``. Defaults to ``'hard'``.
        gap_temperature (float): Gap scale (nats) of ``'sigmoid'``.
            Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over samples.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the term. Defaults to 1.0.
    """

    def __init__(self,
                 tau: float = 4.0,
                 weighting: str = 'hard',
                 gap_temperature: float = 1.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(tau, reduction, loss_weight)
        _check_choice('weighting', weighting, BDKD_WEIGHTINGS)
        check_positive('gap_temperature', gap_temperature)
        self.weighting = weighting
        self.gap_temperature = float(gap_temperature)

    def _per_sample(self, pred: Tensor, target: Tensor) -> Tensor:
        return bdkd_student_loss(pred, target, self.tau, self.weighting,
                                 self.gap_temperature)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, weighting={self.weighting!r}, '
                f'loss_weight={self.loss_weight}')


@MODELS.register_module()
class BDKDTeacherLoss(_LogitPairLoss):
    """BD-KD teacher regulariser towards the constant student.

    See :func:`bdkd_teacher_loss`. Computed in float32 at least, autocast
    off.

    Args:
        tau (float): Temperature. Defaults to 4.0.
        direction (str): ``'reverse'`` (``KL(p_S || p_T)``) or
            ``'forward'`` (``KL(p_T || p_S)``). Defaults to ``'reverse'``.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over samples.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the term. Defaults to 1.0.
    """

    def __init__(self,
                 tau: float = 4.0,
                 direction: str = 'reverse',
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(tau, reduction, loss_weight)
        _check_choice('direction', direction, TEACHER_KL_DIRECTIONS)
        self.direction = direction

    def _per_sample(self, pred: Tensor, target: Tensor) -> Tensor:
        return bdkd_teacher_loss(pred, target, self.tau, self.direction)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, direction={self.direction!r}, '
                f'loss_weight={self.loss_weight}')
