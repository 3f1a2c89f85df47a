# Copyright (c) OpenMMLab. All rights reserved.
"""The module template of the feature losses that are a value per image
(FitNet, CWD, spatial WD): mmdet's ``forward(student, teacher, weight,
avg_factor, reduction_override)`` around one ``per_image`` function."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from .contract import DistillLoss
from .utils import check_reduction, weight_reduce_loss

__all__ = ['PerImageLoss']


class PerImageLoss(DistillLoss, nn.Module):
    """Base of a loss computed per image, then weighted and reduced over
    images as mmdet's losses are.

    Subclasses implement :meth:`per_image`.

    Args:
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over images.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    accepts_weight = True

    def __init__(self,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction
        self.loss_weight = loss_weight

    def per_image(self, student: Tensor, teacher: Tensor) -> Tensor:
        """The loss of each image, ``(N, )``; the teacher detached."""
        raise NotImplementedError

    def forward(self,
                student: Tensor,
                teacher: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the weighted loss.

        Args:
            student (Tensor): The student's tensor (N, ...).
            teacher (Tensor): The teacher's, same shape; detached.
            weight (Tensor, optional): Per-image weight (N, ). Defaults to
                None.
            avg_factor (float, optional): Divisor for ``'mean'``. Defaults
                to None.
            reduction_override (str, optional): Overrides ``reduction``.
                Defaults to None.

        Returns:
            Tensor: The loss (scalar unless reduction is ``'none'``).
        """
        check_reduction(reduction_override, allow_none=True)
        return self.loss_weight * weight_reduce_loss(
            self.per_image(student, teacher), weight, reduction_override
            or self.reduction, avg_factor)
