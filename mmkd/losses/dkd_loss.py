# Copyright (c) OpenMMLab. All rights reserved.
"""Decoupled knowledge distillation (DKD, Zhao et al., CVPR 2022)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .contract import DistillLoss
from .utils import (autocast_disabled, check_labels, check_logits_pair,
                    check_positive, check_reduction, compute_dtype,
                    weight_reduce_loss)


def _binary_kl(log_p: Tensor, log_q: Tensor) -> Tensor:
    """KL(p || q) between distributions given by log-probabilities."""
    return F.kl_div(log_q, log_p, reduction='none', log_target=True).sum(1)


def _dkd_loss_per_sample(student_logits: Tensor, teacher_logits: Tensor,
                         labels: Tensor, alpha: float, beta: float,
                         temperature: float) -> Tensor:
    """``tau^2 (alpha TCKD + beta NCKD)`` per sample, shape (N, )."""
    dtype = compute_dtype(student_logits, teacher_logits)
    num, width = student_logits.shape
    with autocast_disabled(student_logits.device):
        z_s = student_logits.to(dtype) / temperature
        z_t = teacher_logits.detach().to(dtype) / temperature
        target = F.one_hot(labels, width).bool()
        terms = []
        for z in (z_s, z_t):
            others = z[~target].view(num, width - 1)
            log_all = torch.logsumexp(z, dim=1, keepdim=True)
            log_binary = torch.cat(
                [z.gather(1, labels[:, None]),
                 torch.logsumexp(others, dim=1, keepdim=True)],
                dim=1) - log_all
            terms.append((log_binary, F.log_softmax(others, dim=1)))
        (bin_s, other_s), (bin_t, other_t) = terms
        tckd = _binary_kl(bin_t, bin_s)
        nckd = _binary_kl(other_t, other_s)
        return (alpha * tckd + beta * nckd) * temperature**2


def _check_dkd_inputs(student_logits: Tensor, teacher_logits: Tensor,
                      labels: Tensor) -> Tensor:
    check_logits_pair(student_logits, teacher_logits)
    num, width = student_logits.shape
    if width < 2:
        raise ValueError(f'DKD needs at least 2 classes, got logits of width '
                         f'{width}')
    return check_labels(labels, num, width)


def dkd_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor,
             *, alpha: float, beta: float, temperature: float) -> Tensor:
    """DKD: ``alpha * TCKD + beta * NCKD``, both scaled by ``tau^2``.

    As in mdistiller: TCKD is the KL between the binary (target, all
    non-target) teacher and student probabilities at temperature tau;
    NCKD is the KL between the softmax over the non-target classes only.
    Both are averaged over samples. Here the target class is removed
    exactly (mdistiller subtracts 1000 from its logit). mdistiller's
    warm-up factor belongs to the weight schedule, not to this function.
    The teacher is detached; computed in float32 (float64 if an input is
    float64) with autocast disabled.

    Args:
        student_logits (torch.Tensor): Student logits of shape (N, n).
        teacher_logits (torch.Tensor): Teacher logits of shape (N, n).
        labels (torch.Tensor): Target classes (N, ), or (N, n) scores
            reduced with argmax.
        alpha (float): Weight of TCKD.
        beta (float): Weight of NCKD.
        temperature (float): Softmax temperature tau, > 0.

    Returns:
        torch.Tensor: The scalar loss.
    """
    check_positive('temperature', temperature)
    labels = _check_dkd_inputs(student_logits, teacher_logits, labels)
    return weight_reduce_loss(
        _dkd_loss_per_sample(student_logits, teacher_logits, labels, alpha,
                             beta, temperature))


@MODELS.register_module()
class DKDLoss(DistillLoss, nn.Module):
    """DKD loss module (see :func:`dkd_loss`).

    The defaults are the detection ports' settings (tau 1, alpha 1,
    beta 0.25); mdistiller uses alpha 1, beta 8, tau 4 on CIFAR-100 and
    alpha 1, tau 1 on ImageNet with beta 0.5 for ResNet34 -> ResNet18
    (``configs/imagenet/r34_r18/dkd.yaml``) and beta 2 for ResNet50 ->
    MobileNetV1 (``configs/imagenet/r50_mv1/dkd.yaml``).

    Args:
        alpha (float): Weight of TCKD. Defaults to 1.0.
        beta (float): Weight of NCKD. Defaults to 0.25.
        temperature (float): Softmax temperature tau. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over samples.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    accepts_labels = True
    requires_labels = True
    accepts_weight = True

    def __init__(self,
                 alpha: float = 1.0,
                 beta: float = 0.25,
                 temperature: float = 1.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        check_positive('temperature', temperature)
        check_reduction(reduction)
        self.alpha = alpha
        self.beta = beta
        self.temperature = temperature
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                student_logits: Tensor,
                teacher_logits: Tensor,
                labels: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the weighted DKD loss.

        Args:
            student_logits (torch.Tensor): Shape (N, n).
            teacher_logits (torch.Tensor): Shape (N, n); detached.
            labels (torch.Tensor): Target classes (N, ).
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
        labels = _check_dkd_inputs(student_logits, teacher_logits, labels)
        loss = _dkd_loss_per_sample(student_logits, teacher_logits, labels,
                                    self.alpha, self.beta, self.temperature)
        return self.loss_weight * weight_reduce_loss(
            loss, weight, reduction_override or self.reduction, avg_factor)
