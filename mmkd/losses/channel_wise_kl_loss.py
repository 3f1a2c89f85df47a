# Copyright (c) OpenMMLab. All rights reserved.
"""Channel-wise distillation (CWD, Shu et al., ICCV 2021): each channel's
map as a distribution over positions, compared by KL.

The KL counterpart of :mod:`~mmkd.losses.spatial_wasserstein_loss` on the
same distributions: ``tau^2 * KL(softmax(t_c / tau) || softmax(s_c /
tau))`` summed over positions, averaged over channels and images, as
MMRazor's ``ChannelWiseDivergence``.
"""
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .per_image_loss import PerImageLoss
from .utils import (autocast_disabled, check_positive, compute_dtype,
                    shape_str, weight_reduce_loss)

__all__ = ['channel_wise_kl_loss', 'ChannelWiseKLLoss']


def _per_image(student: Tensor, teacher: Tensor, tau: float) -> Tensor:
    if student.shape != teacher.shape or student.dim() != 4:
        raise ValueError(
            'student and teacher maps must both be (N, C, H, W) of the same '
            f'shape, got {shape_str(student.shape)} and '
            f'{shape_str(teacher.shape)}')
    dtype = compute_dtype(student, teacher)
    with autocast_disabled(student.device):
        log_s = F.log_softmax(student.to(dtype).flatten(2) / tau, dim=-1)
        log_t = F.log_softmax(
            teacher.detach().to(dtype).flatten(2) / tau, dim=-1)
        kl = F.kl_div(log_s, log_t, reduction='none', log_target=True)
        return kl.sum(dim=-1).mean(dim=1) * tau**2


def channel_wise_kl_loss(student: Tensor,
                         teacher: Tensor,
                         *,
                         tau: float = 1.0) -> Tensor:
    """CWD: ``tau^2 KL(softmax(t_c / tau) || softmax(s_c / tau))`` over the
    positions of each channel ``c`` of (N, C, H, W) maps, averaged over
    channels and images (teacher detached, float32, autocast off)."""
    check_positive('tau', tau)
    return weight_reduce_loss(_per_image(student, teacher, tau))


@MODELS.register_module()
class ChannelWiseKLLoss(PerImageLoss):
    """CWD loss module (see :func:`channel_wise_kl_loss`).

    Args:
        tau (float): Softmax temperature over positions. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over images.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 tau: float = 1.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        check_positive('tau', tau)
        self.tau = tau

    def per_image(self, student: Tensor, teacher: Tensor) -> Tensor:
        """CWD of each image, averaged over channels."""
        return _per_image(student, teacher, self.tau)
