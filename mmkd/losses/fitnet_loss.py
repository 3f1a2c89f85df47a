# Copyright (c) OpenMMLab. All rights reserved.
"""FitNet (Romero et al., ICLR 2015): the mean squared error between the
(projected) student map and the teacher's, the feature baseline of the WKD
paper's tables.

As mdistiller's ``FitNet`` (``F.mse_loss`` of the hint, mean over every
element); per image it is the mean over that image's elements, so that
``reduction='mean'`` over images gives the same value. mmdet's ``MSELoss``
does the same for detection; this one needs no mmdet.
"""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from mmkd.registry import MODELS
from .contract import DistillLoss
from .utils import (autocast_disabled, check_reduction, compute_dtype,
                    shape_str, weight_reduce_loss)

__all__ = ['fitnet_loss', 'FitNetLoss']


def _per_image(student: Tensor, teacher: Tensor) -> Tensor:
    if student.shape != teacher.shape or student.dim() < 2:
        raise ValueError(
            'student and teacher features must have the same shape (N, ...), '
            f'got {shape_str(student.shape)} and {shape_str(teacher.shape)}')
    dtype = compute_dtype(student, teacher)
    with autocast_disabled(student.device):
        diff = student.to(dtype) - teacher.detach().to(dtype)
        return diff.pow(2).flatten(1).mean(dim=1)


def fitnet_loss(student: Tensor, teacher: Tensor) -> Tensor:
    """Mean squared error over every element (teacher detached, float32,
    autocast off): ``F.mse_loss(student, teacher)``."""
    return weight_reduce_loss(_per_image(student, teacher))


@MODELS.register_module()
class FitNetLoss(DistillLoss, nn.Module):
    """FitNet loss module (see :func:`fitnet_loss`).

    Args:
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over images.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss (mdistiller's CIFAR hint
            weight is 100). Defaults to 1.0.
    """

    accepts_weight = True

    def __init__(self,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                student: Tensor,
                teacher: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the weighted loss (per-image ``weight``, mmdet's
        ``avg_factor`` and ``reduction_override``)."""
        check_reduction(reduction_override, allow_none=True)
        loss = _per_image(student, teacher)
        return self.loss_weight * weight_reduce_loss(
            loss, weight, reduction_override or self.reduction, avg_factor)
