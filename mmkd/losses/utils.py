# Copyright (c) OpenMMLab. All rights reserved.
"""Helpers shared by the mmkd losses: reduction, dtype policy, input checks.

This is the single copy of ``weight_reduce_loss`` in mmkd; every registered
loss reduces its per-sample values through it.
"""
import contextlib
from typing import Iterator, Optional, Sequence

import torch
from torch import Tensor

REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(reduction: Optional[str],
                    allow_none: bool = False) -> None:
    """Raise a ``ValueError`` unless ``reduction`` is a valid option.

    Args:
        reduction (str, optional): One of ``'none'``, ``'mean'``, ``'sum'``.
        allow_none (bool): Whether ``None`` (no override) is accepted.
            Defaults to False.
    """
    if reduction is None and allow_none:
        return
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, '
                         f'got {reduction!r}')


def weight_reduce_loss(loss: Tensor,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[float] = None) -> Tensor:
    """Weight and reduce a per-sample loss.

    Follows mmdet's convention: ``weight`` multiplies first; with
    ``avg_factor`` and ``'mean'`` the result is ``sum / avg_factor``.
    An empty loss reduces to a zero that stays in the autograd graph
    (DDP-safe), never to NaN.

    Args:
        loss (torch.Tensor): Per-sample loss of shape (N, ).
        weight (torch.Tensor, optional): Per-sample weight, broadcastable
            to ``loss``. Defaults to None.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
        avg_factor (float, optional): Divisor of the summed loss for
            ``'mean'``. Defaults to None.

    Returns:
        torch.Tensor: The reduced loss (a scalar unless ``'none'``).
    """
    check_reduction(reduction)
    if weight is not None:
        if weight.dim() > loss.dim():
            raise ValueError(
                f'weight has shape {tuple(weight.shape)} but the loss has '
                f'shape {tuple(loss.shape)}; pass one weight per sample')
        loss = loss * weight.to(loss.dtype)
    if reduction == 'none':
        return loss
    if loss.numel() == 0:
        return graph_zero(loss, dtype=loss.dtype)
    if avg_factor is None:
        return loss.mean() if reduction == 'mean' else loss.sum()
    if reduction == 'sum':
        raise ValueError('avg_factor can not be used with reduction="sum"; '
                         'use reduction="mean" or drop avg_factor')
    eps = torch.finfo(loss.dtype).eps
    return loss.sum() / (avg_factor + eps)


def compute_dtype(*tensors: Tensor) -> torch.dtype:
    """The dtype losses compute in: float64 if any input is, else float32.

    Args:
        *tensors (torch.Tensor): The inputs.

    Returns:
        torch.dtype: ``torch.float64`` or ``torch.float32``.
    """
    if any(t.dtype == torch.float64 for t in tensors):
        return torch.float64
    return torch.float32


def graph_zero(*tensors: Tensor,
               dtype: Optional[torch.dtype] = None) -> Tensor:
    """A scalar zero in the autograd graph of ``tensors``, finite always.

    The sum over an empty slice of each tensor: the value is exactly 0 and
    the gradient every element receives is exactly 0, whatever the tensors
    hold. ``x.sum() * 0`` would be NaN as soon as ``x`` holds an inf or a
    NaN (``inf * 0``), e.g. a float16 overflow under AMP. Staying in the
    graph gives every parameter behind ``tensors`` a (zero) gradient, which
    DDP requires. This is mmkd's one copy of that trick.

    Args:
        *tensors (torch.Tensor): One or more tensors to connect to.
        dtype (torch.dtype, optional): Dtype of the zero. Defaults to
            :func:`compute_dtype` of the tensors (float32 or float64).

    Returns:
        torch.Tensor: A 0-dim zero on the device of ``tensors[0]``.
    """
    if not tensors:
        raise ValueError('graph_zero needs at least one tensor')
    if dtype is None:
        dtype = compute_dtype(*tensors)
    zero = tensors[0].reshape(-1)[:0].to(dtype).sum()
    for tensor in tensors[1:]:
        zero = zero + tensor.reshape(-1)[:0].to(dtype).sum()
    return zero


@contextlib.contextmanager
def autocast_disabled(device: torch.device) -> Iterator[None]:
    """Context manager that turns autocast off on ``device``.

    Args:
        device (torch.device): Device whose autocast is disabled.
    """
    if torch.amp.is_autocast_available(device.type):
        with torch.autocast(device_type=device.type, enabled=False):
            yield
    else:
        yield


def check_positive(name: str, value: float) -> None:
    """Raise a ``ValueError`` unless ``value`` is a positive number."""
    if not value > 0:
        raise ValueError(f'{name} must be > 0, got {value!r}')


def check_logits_pair(student_logits: Tensor, teacher_logits: Tensor) -> None:
    """Check that student and teacher logits are [N, n] of the same shape.

    Args:
        student_logits (torch.Tensor): Student logits.
        teacher_logits (torch.Tensor): Teacher logits.
    """
    if student_logits.dim() != 2:
        raise ValueError('student_logits must have shape [N, num_classes], '
                         f'got {tuple(student_logits.shape)}; flatten extra '
                         'dimensions into N first')
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f'student_logits has shape {tuple(student_logits.shape)} but '
            f'teacher_logits has shape {tuple(teacher_logits.shape)}; both '
            'must score the same samples over the same classes (run the '
            "teacher's head on the student's samples, or add a projector "
            'mapping the student logits to the teacher classes)')


def check_labels(labels: Tensor,
                 num_samples: int,
                 num_classes: Optional[int] = None) -> Tensor:
    """Validate class labels and return them as int64 indices of shape [N].

    Args:
        labels (torch.Tensor): Class indices of shape (N, ), or soft /
            one-hot scores of shape (N, num_classes), which are reduced with
            ``argmax`` as in the official WKD code.
        num_samples (int): N, the number of samples.
        num_classes (int, optional): Width of the logits; None accepts
            scores of any width and checks no range. Defaults to None.

    Returns:
        torch.Tensor: int64 labels of shape (N, ).
    """
    if not isinstance(labels, Tensor):
        raise TypeError('labels must be a torch.Tensor of class indices, '
                        f'got {type(labels).__name__}')
    if labels.dim() == 2 and labels.shape[0] == num_samples and (
            num_classes is None or labels.shape[1] == num_classes):
        labels = labels.argmax(dim=1)
    if labels.dim() != 1 or labels.shape[0] != num_samples:
        raise ValueError(
            f'labels must have shape ({num_samples},) (class indices) or '
            f'({num_samples}, {num_classes or "num_classes"}) (scores), got '
            f'{tuple(labels.shape)}')
    if labels.is_floating_point() or labels.is_complex() or \
            labels.dtype == torch.bool:
        raise TypeError(f'labels must be integer class indices, got dtype '
                        f'{labels.dtype}; pass labels.long()')
    if labels.numel() > 0 and num_classes is not None:
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= num_classes:
            raise ValueError(
                f'labels must lie in [0, {num_classes - 1}] for '
                f'{num_classes} classes, got values in [{low}, {high}]; '
                'detection labels use num_classes for the background, so '
                'the logits need num_classes + 1 columns')
    return labels.long()


def shape_str(shape: Sequence[int]) -> str:
    """Format a shape as ``(a, b, c)``."""
    return str(tuple(int(s) for s in shape))
