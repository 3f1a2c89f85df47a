# Copyright (c) OpenMMLab. All rights reserved.
"""1-D Wasserstein distance between discretised box-edge distributions.

A drop-in alternative to the KL of Localization Distillation (LD, mmdet's
``KnowledgeDistillationKLDivLoss`` in ``LDHead``). In a GFL head each box
edge is a softmax over ``reg_max + 1`` ordered bins. KL ignores that order:
mass one bin off costs as much as mass ten bins off. The 1-D Wasserstein
distance with ground cost ``|i - j| * bin_width`` charges by how far mass
moves, and has the closed form ``W1(p, q) = bin_width * sum_k |CDF_p(k) -
CDF_q(k)|``. Only W1 is provided (no W_p for p > 1).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .contract import DistillLoss
from .utils import (autocast_disabled, check_positive, check_reduction,
                    compute_dtype, weight_reduce_loss)


def _check_box_inputs(pred: Tensor, soft_label: Tensor) -> None:
    """Validate a student/teacher pair of bin logits; raise naming the fix.

    Args:
        pred (torch.Tensor): Student logits, expected shape (N, n_bins).
        soft_label (torch.Tensor): Teacher logits, expected shape
            (N, n_bins).
    """
    for name, tensor in (('pred', pred), ('soft_label', soft_label)):
        if not isinstance(tensor, Tensor):
            raise TypeError(f'{name} must be a torch.Tensor of logits, got '
                            f'{type(tensor).__name__}')
        if not tensor.is_floating_point():
            raise TypeError(f'{name} must be floating-point logits, got '
                            f'dtype {tensor.dtype}; pass {name}.float()')
    if pred.dim() != 2:
        raise ValueError(f'pred must have shape (N, n_bins), got '
                         f'{tuple(pred.shape)}; reshape GFL box predictions '
                         'with .reshape(-1, reg_max + 1) first')
    if pred.shape != soft_label.shape:
        raise ValueError(
            f'pred has shape {tuple(pred.shape)} but soft_label has shape '
            f'{tuple(soft_label.shape)}; student and teacher must score the '
            'same box edges over the same bins (use the same reg_max)')
    if pred.shape[1] < 2:
        raise ValueError(f'need at least 2 bins, got {pred.shape[1]}; a '
                         'box-edge distribution over one bin has no '
                         'geometry to compare (check reg_max >= 1)')


def _check_box_hparams(temperature: float, bin_width: float) -> None:
    check_positive('temperature', temperature)
    check_positive('bin_width', bin_width)


def _wasserstein_1d_per_sample(pred: Tensor, soft_label: Tensor,
                               temperature: float, bin_width: float,
                               detach_target: bool) -> Tensor:
    """``temperature * W1`` per row (N, ); inputs already validated."""
    dtype = compute_dtype(pred, soft_label)
    with autocast_disabled(pred.device):
        target = soft_label.detach() if detach_target else soft_label
        p = F.softmax(pred.to(dtype) / temperature, dim=1)
        q = F.softmax(target.to(dtype) / temperature, dim=1)
        # CDF_p - CDF_q as one cumsum of the difference (less cancellation).
        # The last entry is 1 - 1 = 0 in exact arithmetic; dropping it
        # removes a rounding-noise term and the kink of |.| at 0 there.
        cdf_gap = torch.cumsum(p - q, dim=1)[:, :-1]
        return cdf_gap.abs().sum(dim=1) * (bin_width * temperature)


def wasserstein_1d_loss(pred: Tensor,
                        soft_label: Tensor,
                        temperature: float = 1.0,
                        bin_width: float = 1.0,
                        detach_target: bool = True) -> Tensor:
    """Per-sample 1-D Wasserstein (W1) distance between bin distributions.

    Both inputs are logits, as in mmdet's LD: ``p = softmax(pred / T)`` and
    ``q = softmax(soft_label / T)`` over the ``n_bins`` ordered bins, and

    ``loss = T * bin_width * sum_k |CDF_p(k) - CDF_q(k)|``,

    which is ``T`` times the exact W1 with ground cost ``|i - j| *
    bin_width``. The factor ``T`` (not LD's ``T**2``): the gradient of W1
    wrt the logits scales as ``1 / T``, so ``T`` keeps its scale roughly
    independent of the temperature; at ``T = 1`` the value is plain W1.

    Computed in float32 (float64 if an input is float64) with autocast
    disabled. Not reduced: weight and reduce with
    :func:`mmkd.losses.weight_reduce_loss` (or use
    :class:`WassersteinBoxLoss`).

    Args:
        pred (torch.Tensor): Student logits of shape (N, n_bins), e.g. GFL
            ``bbox_pred.reshape(-1, reg_max + 1)``.
        soft_label (torch.Tensor): Teacher logits of shape (N, n_bins).
        temperature (float): Softmax temperature T, > 0. Defaults to 1.0.
        bin_width (float): Distance between adjacent bins, > 0 (1.0 gives
            bin units; a GFL bin is one stride). Defaults to 1.0.
        detach_target (bool): Whether to stop the gradient to
            ``soft_label``. Defaults to True.

    Returns:
        torch.Tensor: ``T * W1`` per row, shape (N, ), float32 or float64.
    """
    _check_box_hparams(temperature, bin_width)
    _check_box_inputs(pred, soft_label)
    return _wasserstein_1d_per_sample(pred, soft_label, temperature,
                                      bin_width, detach_target)


@MODELS.register_module()
class WassersteinBoxLoss(DistillLoss, nn.Module):
    """W1 box-distribution distillation loss (see :func:`wasserstein_1d_loss`).

    Same call signature as mmdet's ``KnowledgeDistillationKLDivLoss``, so it
    can replace ``loss_ld`` of ``LDHead``:
    ``loss_ld=dict(type='mmkd.WassersteinBoxLoss', loss_weight=0.25,
    temperature=10)``. Note that the value is a distance summed over bins
    (LD's KL is averaged over bins), so ``loss_weight`` needs retuning.
    The teacher is always detached.

    Args:
        temperature (float): Softmax temperature T. Defaults to 1.0.
        bin_width (float): Distance between adjacent bins. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over rows.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    accepts_weight = True

    def __init__(self,
                 temperature: float = 1.0,
                 bin_width: float = 1.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        _check_box_hparams(temperature, bin_width)
        check_reduction(reduction)
        self.temperature = temperature
        self.bin_width = bin_width
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                pred: Tensor,
                soft_label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the weighted W1 loss.

        Args:
            pred (torch.Tensor): Student logits of shape (N, n_bins).
            soft_label (torch.Tensor): Teacher logits of shape (N, n_bins);
                detached.
            weight (torch.Tensor, optional): Per-row weight (N, ).
                Defaults to None.
            avg_factor (float, optional): Divisor for ``'mean'``.
                Defaults to None.
            reduction_override (str, optional): Overrides ``reduction``.
                Defaults to None.

        Returns:
            torch.Tensor: The loss (scalar unless reduction is ``'none'``).
        """
        check_reduction(reduction_override, allow_none=True)
        _check_box_inputs(pred, soft_label)
        loss = _wasserstein_1d_per_sample(pred, soft_label, self.temperature,
                                          self.bin_width, True)
        return self.loss_weight * weight_reduce_loss(
            loss, weight, reduction_override or self.reduction, avg_factor)
