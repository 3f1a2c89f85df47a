# Copyright (c) OpenMMLab. All rights reserved.
"""Hinton's knowledge distillation (KD), the KL baseline."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .contract import DistillLoss
from .utils import (autocast_disabled, check_logits_pair, check_positive,
                    check_reduction, compute_dtype, weight_reduce_loss)


def _kd_loss_per_sample(student_logits: Tensor, teacher_logits: Tensor,
                        temperature: float) -> Tensor:
    """``tau^2 * KL(p_T || p_S)`` summed over classes, per sample (N, )."""
    dtype = compute_dtype(student_logits, teacher_logits)
    with autocast_disabled(student_logits.device):
        log_p_s = F.log_softmax(student_logits.to(dtype) / temperature, dim=1)
        log_p_t = F.log_softmax(
            teacher_logits.detach().to(dtype) / temperature, dim=1)
        kl = F.kl_div(log_p_s, log_p_t, reduction='none', log_target=True)
        return kl.sum(dim=1) * temperature**2


def kd_loss(student_logits: Tensor, teacher_logits: Tensor, *,
            temperature: float) -> Tensor:
    """Hinton KD: ``tau^2 * KL(softmax(z_T / tau) || softmax(z_S / tau))``.

    The KL is summed over classes and averaged over the N samples (unlike
    mmdet's ``knowledge_distillation_kl_div_loss``, which also averages
    over classes). The teacher is detached; computed in float32 (float64
    if an input is float64) with autocast disabled.

    Args:
        student_logits (torch.Tensor): Student logits of shape (N, n).
        teacher_logits (torch.Tensor): Teacher logits of shape (N, n).
        temperature (float): Softmax temperature tau, > 0.

    Returns:
        torch.Tensor: The scalar loss.
    """
    check_positive('temperature', temperature)
    check_logits_pair(student_logits, teacher_logits)
    return weight_reduce_loss(
        _kd_loss_per_sample(student_logits, teacher_logits, temperature))


@MODELS.register_module()
class KDLoss(DistillLoss, nn.Module):
    """Hinton KD loss module (see :func:`kd_loss`).

    Args:
        temperature (float): Softmax temperature tau. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over samples.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    accepts_weight = True

    def __init__(self,
                 temperature: float = 1.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        check_positive('temperature', temperature)
        check_reduction(reduction)
        self.temperature = temperature
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                student_logits: Tensor,
                teacher_logits: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the weighted KD loss.

        Args:
            student_logits (torch.Tensor): Shape (N, n).
            teacher_logits (torch.Tensor): Shape (N, n); detached.
            weight (torch.Tensor, optional): Per-sample weight (N, ).
                Defaults to None.
            avg_factor (float, optional): Divisor for ``'mean'``.
                Defaults to None.
            reduction_override (str, optional): Overrides ``reduction``.
                Defaults to None.

        Returns:
            torch.Tensor: The loss (scalar unless reduction is ``'none'``).
        """
        check_reduction(reduction_override, allow_none=True)
        check_logits_pair(student_logits, teacher_logits)
        loss = _kd_loss_per_sample(student_logits, teacher_logits,
                                   self.temperature)
        return self.loss_weight * weight_reduce_loss(
            loss, weight, reduction_override or self.reduction, avg_factor)
