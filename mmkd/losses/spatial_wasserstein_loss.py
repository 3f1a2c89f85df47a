# Copyright (c) OpenMMLab. All rights reserved.
"""Spatial Wasserstein distillation of dense maps: each channel's activation
map as a distribution over positions, compared by entropic optimal
transport whose ground cost is the distance between positions.

For a map of ``H x W`` positions, channel ``c`` of student and teacher
becomes ``p = softmax(x_c / tau)`` over the positions (as channel-wise
distillation, CWD, does before its KL). The cost between positions ``i =
(y, x)`` and ``j = (y', x')`` is the squared distance of their normalised
coordinates, ``C_ij = (y - y')^2 + (x - x')^2`` with coordinates in
``[0, 1]`` (``index / (size - 1)``), so the cost and ``reg`` mean the same
on every map size. A shifted activation costs by how far it moved, which a
KL between the two distributions does not see.

The Gibbs kernel ``exp(-C / reg)`` of a squared distance on a grid is
separable, ``K = K_y (x) K_x`` (Solomon et al., "Convolutional Wasserstein
Distances", 2015), so a Sinkhorn step on a map is two matrix products with
the ``H x H`` and ``W x W`` kernels: O(HW (H + W)) per channel, and the
``HW x HW`` cost is never formed. The transport cost uses the same split,
``K o C = (K_y o C_y) (x) K_x + K_y (x) (K_x o C_x)``. The iteration is the
POT's (``v = b / K^T u``, ``u = a / K v``, ``u`` starting at ``1 / (HW)``),
run in the log domain, gradients through the unrolled iterations.
"""
import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from mmkd.utils.checks import check_int
from .per_image_loss import PerImageLoss
from .utils import (autocast_disabled, check_positive, compute_dtype,
                    shape_str, weight_reduce_loss)

__all__ = [
    'axis_kernels', 'spatial_sinkhorn_cost', 'spatial_sinkhorn_log_cost',
    'spatial_wasserstein_loss', 'SpatialWassersteinLoss'
]

def axis_kernels(size: int, reg: float, like: Tensor) -> Tuple[Tensor, Tensor]:
    """The 1-D Gibbs kernel of one axis and the kernel times the cost.

    Args:
        size (int): Positions along the axis.
        reg (float): Entropic regularisation.
        like (Tensor): Gives the dtype and device.

    Returns:
        tuple[Tensor, Tensor]: ``K = exp(-D / reg)`` and ``K * D``, both
        ``(size, size)``, ``D`` the squared distance of the normalised
        coordinates ``index / (size - 1)`` (0 for a single position).
    """
    pos = torch.arange(size, dtype=like.dtype, device=like.device)
    pos = pos / max(size - 1, 1)
    dist = (pos[:, None] - pos[None, :]).square()
    kernel = torch.exp(-dist / reg)
    return kernel, kernel * dist


def _log_matmul(kernel: Tensor, log_w: Tensor) -> Tensor:
    """``log(w @ kernel^T)`` along the last axis from ``log w``, shifted by
    its maximum so the product stays in range."""
    shift = log_w.amax(dim=-1, keepdim=True).detach()
    prod = (log_w - shift).exp() @ kernel.t()
    return shift + prod.clamp_min(torch.finfo(prod.dtype).tiny).log()


def _log_apply(kernel_y: Tensor, kernel_x: Tensor, log_v: Tensor) -> Tensor:
    """``log((K_y (x) K_x) v)`` on (M, H, W) maps from ``log v``, one axis
    at a time.

    In the log domain because ``u`` and ``v`` themselves overflow where the
    kernel is almost the identity (a small ``reg`` on a coarse map needs
    scalings near ``exp(1 / (2 reg))``, and their gradients overflowed on
    2 x 2 and 4 x 4 FPN levels at ``reg`` 0.02). Both kernels are
    symmetric, so this is also the transposed product.
    """
    rows = _log_matmul(kernel_x, log_v)
    return _log_matmul(kernel_y, rows.transpose(-2, -1)).transpose(-2, -1)


def spatial_sinkhorn_log_cost(log_a: Tensor, log_b: Tensor, reg: float,
                              iters: int) -> Tensor:
    """Entropic OT cost between distributions on the same ``H x W`` grid,
    given as log-probabilities.

    Sinkhorn in the log domain (POT's ``sinkhorn_log`` order: ``v = b /
    K^T u``, then ``u = a / K v``, ``u`` starting at ``1 / (HW)``), with
    the separable kernel applied one axis at a time by :func:`_log_apply`.

    Args:
        log_a (Tensor): (M, H, W) log-distributions, the rows of the plan.
        log_b (Tensor): (M, H, W) log-distributions, the columns; a
            constant.
        reg (float): Entropic regularisation of the normalised squared
            distance. Above ``1 / 87`` in float32 (``1 / 708`` in
            float64) the kernel's smallest entry, ``exp(-1 / reg)``, is a
            normal number; below, products of mass at opposite ends of an
            axis are clamped there.
        iters (int): Sinkhorn iterations.

    Returns:
        Tensor: (M, ) the transport cost ``<P, C>`` of each pair (the
        entropy term is not included, as ``ot.sinkhorn2``).
    """
    height, width = log_a.shape[-2:]
    k_y, kc_y = axis_kernels(height, reg, log_a)
    k_x, kc_x = axis_kernels(width, reg, log_a)
    log_u = torch.full_like(log_a, -math.log(height * width))
    for _ in range(iters):
        log_v = log_b - _log_apply(k_y, k_x, log_u)
        log_u = log_a - _log_apply(k_y, k_x, log_v)
    # <P, C> = sum_i u_i ((K o C) v)_i, with K o C split over the axes;
    # u_i and the product are combined in logs (each may overflow alone).
    cost = (log_u + _log_apply(kc_y, k_x, log_v)).exp() + (
        log_u + _log_apply(k_y, kc_x, log_v)).exp()
    return cost.sum(dim=(-2, -1))


def spatial_sinkhorn_cost(a: Tensor, b: Tensor, reg: float,
                          iters: int) -> Tensor:
    """:func:`spatial_sinkhorn_log_cost` of distributions ``a`` and ``b``
    ((M, H, W), each summing to 1; zeros allowed)."""
    tiny = torch.finfo(a.dtype).tiny
    return spatial_sinkhorn_log_cost(
        a.clamp_min(tiny).log(), b.clamp_min(tiny).log(), reg, iters)


def _check_maps(student: Tensor, teacher: Tensor) -> None:
    if student.shape != teacher.shape or student.dim() != 4:
        raise ValueError(
            'student and teacher maps must both be (N, C, H, W) of the same '
            f'shape, got {shape_str(student.shape)} and '
            f'{shape_str(teacher.shape)}; add a connector mapping the '
            "student to the teacher's channels")


def _per_image(student: Tensor, teacher: Tensor, tau: float, reg: float,
               iters: int) -> Tensor:
    """Per-image loss (N, ): the channels' transport costs, averaged."""
    num, channels = student.shape[:2]
    dtype = compute_dtype(student, teacher)
    with autocast_disabled(student.device):
        s = student.to(dtype).flatten(2) / tau
        t = teacher.detach().to(dtype).flatten(2) / tau
        log_a = F.log_softmax(s, dim=-1).view_as(student)
        log_b = F.log_softmax(t, dim=-1).view_as(student)
        cost = spatial_sinkhorn_log_cost(
            log_a.flatten(0, 1), log_b.flatten(0, 1), reg, iters)
        return cost.view(num, channels).mean(dim=1)


def spatial_wasserstein_loss(student: Tensor,
                             teacher: Tensor,
                             *,
                             tau: float = 1.0,
                             reg: float = 0.02,
                             iters: int = 30) -> Tensor:
    """Spatial Wasserstein distillation loss of (N, C, H, W) maps.

    Each channel's map becomes ``softmax(x / tau)`` over its positions, and
    the student's and teacher's are compared with entropic OT under the
    normalised squared distance between positions (see the module
    docstring). Averaged over channels and images; the teacher is detached;
    computed in float32 (float64 if an input is) with autocast off.

    Args:
        student (Tensor): Student maps (N, C, H, W), projected to the
            teacher's channels.
        teacher (Tensor): Teacher maps, same shape.
        tau (float): Softmax temperature over the positions. Defaults to 1.
        reg (float): Entropic regularisation. Defaults to 0.02 (a blur of
            about 0.1 of the map side).
        iters (int): Sinkhorn iterations. Defaults to 30.

    Returns:
        Tensor: The scalar loss.
    """
    check_positive('tau', tau)
    check_positive('reg', reg)
    check_int('iters', iters)
    _check_maps(student, teacher)
    return weight_reduce_loss(_per_image(student, teacher, tau, reg, iters))


@MODELS.register_module()
class SpatialWassersteinLoss(PerImageLoss):
    """Spatial Wasserstein loss module (see
    :func:`spatial_wasserstein_loss`), for FPN levels and other dense maps;
    ``forward(student, teacher)`` takes (N, C, H, W) maps.

    Args:
        tau (float): Softmax temperature over positions. Defaults to 1.0.
        reg (float): Entropic regularisation of the normalised squared
            distance. Defaults to 0.02.
        iters (int): Sinkhorn iterations. Defaults to 30.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over images.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 tau: float = 1.0,
                 reg: float = 0.02,
                 iters: int = 30,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        check_positive('tau', tau)
        check_positive('reg', reg)
        check_int('iters', iters)
        self.tau = tau
        self.reg = reg
        self.iters = iters

    def per_image(self, student: Tensor, teacher: Tensor) -> Tensor:
        """The spatial WD of each image, averaged over channels."""
        _check_maps(student, teacher)
        return _per_image(student, teacher, self.tau, self.reg, self.iters)
