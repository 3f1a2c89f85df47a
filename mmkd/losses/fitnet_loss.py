# Copyright (c) OpenMMLab. All rights reserved.
"""FitNet (Romero et al., ICLR 2015): the mean squared error between the
(projected) student map and the teacher's, the feature baseline of the WKD
paper's tables.

As mdistiller's ``FitNet`` (``F.mse_loss`` of the hint, mean over every
element); per image it is the mean over that image's elements, so that
``reduction='mean'`` over images gives the same value. mmdet's ``MSELoss``
does the same for detection; this one needs no mmdet.
"""
from torch import Tensor

from mmkd.registry import MODELS
from .per_image_loss import PerImageLoss
from .utils import (autocast_disabled, compute_dtype, shape_str,
                    weight_reduce_loss)

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
class FitNetLoss(PerImageLoss):
    """FitNet loss module (see :func:`fitnet_loss`).

    Args:
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over images.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss (mdistiller's CIFAR hint
            weight is 100). Defaults to 1.0.
    """

    def per_image(self, student: Tensor, teacher: Tensor) -> Tensor:
        """Mean squared error over each image's elements."""
        return _per_image(student, teacher)
