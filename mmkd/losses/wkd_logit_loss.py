# Copyright (c) OpenMMLab. All rights reserved.
"""WKD-L: discrete Wasserstein logit distillation (Lv et al., 2024)."""
import os
import os.path as osp
from typing import Optional, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from mmkd.utils.checks import check_int
from .contract import DistillLoss
from .cost_matrix import sharpen_cost
from .sinkhorn import _sinkhorn_cost, warn_if_kernel_underflows
from .utils import (autocast_disabled, check_labels,
                    check_logits_pair, check_positive, check_reduction,
                    compute_dtype, weight_reduce_loss)

#: Added to the clamped cost, as in the official code: C = relu(C) + 1e-8.
COST_FLOOR = 1e-8

CostLike = Union[str, os.PathLike, Tensor, np.ndarray]


def check_cost_matrix(cost_matrix: Tensor,
                      num_classes: Optional[int] = None) -> None:
    """Validate a WKD cost matrix; raise ``ValueError`` naming the fix.

    Checks that it is square, matches ``num_classes`` (if given), is finite
    and is non-negative.

    Args:
        cost_matrix (torch.Tensor): The cost, expected shape (n, n).
        num_classes (int, optional): Width of the logits it will be used
            with. Defaults to None (not checked).
    """
    if not isinstance(cost_matrix, Tensor):
        raise TypeError('cost_matrix must be a torch.Tensor, got '
                        f'{type(cost_matrix).__name__}')
    shape = tuple(cost_matrix.shape)
    if cost_matrix.dim() != 2 or shape[0] != shape[1]:
        raise ValueError(f'cost matrix must be square [n, n], got shape '
                         f'{shape}')
    if num_classes is not None:
        check_cost_width(shape[0], num_classes)
    finite = torch.isfinite(cost_matrix)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(f'cost matrix has {bad} non-finite (NaN/inf) '
                         'entries; rebuild it (e.g. check for classes with '
                         'constant features in the CKA) or fix the file')
    if cost_matrix.numel() > 0:
        low = float(cost_matrix.min())
        if low < 0:
            raise ValueError(
                f'cost matrix has negative entries (min {low:.4g}); costs '
                'must be >= 0, e.g. 1 - exp(-kappa * (1 - CKA)) built by '
                'mmkd.losses.cka_cost_matrix')


def check_cost_width(cost_size: int, num_classes: int) -> None:
    """Raise a ``ValueError`` when the cost does not match the logits.

    Args:
        cost_size (int): n of the (n, n) cost matrix.
        num_classes (int): Width of the logits.
    """
    if cost_size == num_classes:
        return
    msg = (f'cost matrix is {cost_size}x{cost_size} but logits have '
           f'{num_classes} classes; ')
    if num_classes == cost_size + 1:
        msg += ('detection logits include the background class, build the '
                'cost over num_classes + 1')
    else:
        msg += 'build the cost matrix over the same classes as the logits'
    raise ValueError(msg)


def read_cost_file(path: str):
    """What a ``.pth``/``.pt`` (``torch.load``, ``weights_only``, on the CPU)
    or ``.npy`` cost file holds.

    Raises:
        ValueError: If the file cannot be read (truncated, corrupted, or
            holding objects ``weights_only`` refuses); the message names the
            file and how to get a good one.
    """
    try:
        if path.lower().endswith('.npy'):
            return np.load(path, allow_pickle=False)
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001 - re-raised with the path and fix
        raise ValueError(
            f'Cannot read the cost matrix file {path!r} ({type(e).__name__}: '
            f'{e}); it is truncated or corrupted, or not a cost file. Delete '
            'it so that CostMatrixHook builds it again from the teacher, or '
            'rebuild it with tools/build_cost_matrix.py.') from e


def as_cost_matrix(cost_matrix: CostLike,
                     kappa: Optional[float] = None) -> Tensor:
    """Load a cost matrix from a file, array or tensor, and validate it.

    Args:
        cost_matrix (str | PathLike | torch.Tensor | numpy.ndarray): A
            ``.pth``/``.pt`` file holding a tensor or mmkd's
            ``{'cost_matrix': tensor, 'record': ...}`` (loaded on the CPU), a
            ``.npy`` file, or the matrix itself, shape (n, n).
        kappa (float, optional): If given, the input is a raw ``1 - IR``
            matrix (e.g. the official WKD ``*_linear_cka.pth`` files, which
            hold 1 - CKA) and is sharpened into
            ``1 - exp(-kappa * (1 - IR))``. If None, the input already is
            the cost. Defaults to None.

    Returns:
        torch.Tensor: The float32 (float64 kept) cost matrix on the CPU.
    """
    if isinstance(cost_matrix, (str, os.PathLike)):
        path = osp.expanduser(os.fspath(cost_matrix))
        ext = osp.splitext(path)[1].lower()
        if ext not in ('.pth', '.pt', '.npy'):
            raise ValueError(f'cannot load a cost matrix from {path!r}: use '
                             'a .pth/.pt (torch.save of a tensor) or .npy '
                             'file')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'cost matrix file {path!r} does not exist; build it with '
                'tools/build_cost_matrix.py or fix the path')
        loaded = read_cost_file(path)
        # mmkd's cost files keep what they were built from beside the
        # matrix (mmkd.apis.save_cost_matrix)
        if isinstance(loaded, dict) and 'cost_matrix' in loaded:
            loaded = loaded['cost_matrix']
        cost_matrix = loaded
    if isinstance(cost_matrix, np.ndarray):
        cost_matrix = torch.from_numpy(np.ascontiguousarray(cost_matrix))
    if not isinstance(cost_matrix, Tensor):
        raise TypeError('cost_matrix must be a file path (.pth/.npy), a '
                        'torch.Tensor or a numpy array holding an [n, n] '
                        f'matrix, got {type(cost_matrix).__name__}')
    cost_matrix = cost_matrix.detach().cpu()
    if cost_matrix.dtype != torch.float64:
        cost_matrix = cost_matrix.float()
    check_cost_matrix(cost_matrix)
    if kappa is not None:
        cost_matrix = sharpen_cost(cost_matrix, kappa)
    return cost_matrix


def _check_wkd_hparams(temperature: float, sinkhorn_reg: float,
                       sinkhorn_iters: int) -> None:
    check_positive('temperature', temperature)
    check_positive('sinkhorn_reg', sinkhorn_reg)
    check_int('sinkhorn_iters', sinkhorn_iters)


def _wkd_logit_loss_per_sample(student_logits: Tensor,
                               teacher_logits: Tensor,
                               cost_matrix: Tensor,
                               labels: Optional[Tensor],
                               temperature: float,
                               wd_weight: float,
                               sinkhorn_reg: float,
                               sinkhorn_iters: int,
                               log_domain: bool) -> Tensor:
    """Per-sample WKD-L loss; inputs already validated. Shape (N, )."""
    dtype = compute_dtype(student_logits, teacher_logits)
    with autocast_disabled(student_logits.device):
        student = student_logits.to(dtype)
        teacher = teacher_logits.detach().to(dtype)
        cost = F.relu(cost_matrix.detach().to(student.device, dtype))
        cost = cost + COST_FLOOR
        if labels is None:
            target_loss = student.new_zeros(())
            student_masked = student / temperature
            teacher_masked = teacher / temperature
            support = None
        else:
            index = labels[:, None]
            log_p_student = F.log_softmax(student, dim=1).gather(1, index)
            p_teacher = F.softmax(teacher, dim=1).gather(1, index)
            target_loss = -(p_teacher * log_p_student).squeeze(1)
            target = torch.zeros_like(student, dtype=torch.bool)
            target.scatter_(1, index, True)
            # The target gets zero mass and u = 0, which reproduces the
            # (n - 1)-class problem without it (docs/methods.md, section 1).
            student_masked = (student / temperature).masked_fill(
                target, float('-inf'))
            teacher_masked = (teacher / temperature).masked_fill(
                target, float('-inf'))
            support = ~target
        a = F.softmax(student_masked, dim=1)
        b = F.softmax(teacher_masked, dim=1)
        wd = _sinkhorn_cost(
            a, b, cost, reg=sinkhorn_reg, iters=sinkhorn_iters,
            log_domain=log_domain, support=support)
        return target_loss + wd_weight * wd


def _check_wkd_inputs(student_logits: Tensor, teacher_logits: Tensor,
                      labels: Optional[Tensor]) -> Optional[Tensor]:
    check_logits_pair(student_logits, teacher_logits)
    num, width = student_logits.shape
    if labels is None:
        return None
    if width < 2:
        raise ValueError('target separation needs at least 2 classes, got '
                         f'logits of width {width}; pass labels=None')
    return check_labels(labels, num, width)


def wkd_logit_loss(student_logits: Tensor,
                   teacher_logits: Tensor,
                   cost_matrix: Tensor,
                   labels: Optional[Tensor] = None,
                   *,
                   temperature: float = 2.0,
                   wd_weight: float = 1.0,
                   sinkhorn_reg: float = 0.05,
                   sinkhorn_iters: int = 10,
                   log_domain: bool = False) -> Tensor:
    """WKD-L loss: entropic Wasserstein distance between class posteriors.

    With ``labels`` (target separation, the paper's default) the loss is
    ``L_t + wd_weight * WD``:

    * ``L_t = -p_T[t] * log p_S[t]`` with softmax at temperature 1 over all
      classes and ``p_T[t]`` constant;
    * ``WD`` is the entropic OT cost ``<P, C>`` between the student and
      teacher softmax at ``temperature`` over the non-target classes, with
      the cost restricted to them.

    Without ``labels`` the loss is ``wd_weight * WD`` over all classes. Both
    terms are averaged over the N samples; there is no ``tau^2`` factor.

    The cost is clamped to ``relu(C) + 1e-8`` first. With the defaults
    (``log_domain=False``, 10 iterations, ``sinkhorn_reg=0.05``) this is
    "paper mode": value and gradient equal the official per-sample code
    (which copies the cost per sample) up to float rounding, computed with
    one shared (n, n) kernel in O(N n + n^2) memory. ``log_domain=True``
    uses the logsumexp solver, finite for any ``sinkhorn_reg`` (see
    :mod:`mmkd.losses.sinkhorn`). In plain mode a ``sinkhorn_reg`` small
    enough for ``exp(-C / reg)`` to underflow makes WD collapse towards 0
    (a warning is issued).

    The teacher is detached. The loss is computed in float32 (float64 if
    an input is float64) with autocast disabled.

    Args:
        student_logits (torch.Tensor): Student logits of shape (N, n).
        teacher_logits (torch.Tensor): Teacher logits of shape (N, n).
        cost_matrix (torch.Tensor): Cost between classes, shape (n, n),
            finite and non-negative (zero diagonal, symmetric expected).
        labels (torch.Tensor, optional): Target classes of shape (N, ), or
            (N, n) scores reduced with argmax. Defaults to None.
        temperature (float): Softmax temperature of WD. Defaults to 2.0.
        wd_weight (float): Weight lambda of WD. Defaults to 1.0.
        sinkhorn_reg (float): Entropic regularisation eta. Defaults to 0.05.
        sinkhorn_iters (int): Number of Sinkhorn iterations. Defaults to 10.
        log_domain (bool): Use the log-domain solver. Defaults to False.

    Returns:
        torch.Tensor: The scalar loss.
    """
    _check_wkd_hparams(temperature, sinkhorn_reg, sinkhorn_iters)
    labels = _check_wkd_inputs(student_logits, teacher_logits, labels)
    check_cost_matrix(cost_matrix, student_logits.shape[1])
    dtype = compute_dtype(student_logits, teacher_logits)
    if not log_domain and cost_matrix.numel() > 0:
        warn_if_kernel_underflows(
            float(cost_matrix.max()), sinkhorn_reg, dtype)
    loss = _wkd_logit_loss_per_sample(student_logits, teacher_logits,
                                      cost_matrix, labels, temperature,
                                      wd_weight, sinkhorn_reg, sinkhorn_iters,
                                      log_domain)
    return weight_reduce_loss(loss)


@MODELS.register_module()
class WKDLogitLoss(DistillLoss, nn.Module):
    """WKD-L loss module (see :func:`wkd_logit_loss`).

    The cost matrix is kept as a non-persistent buffer (it follows
    ``.to()``/``.cuda()`` but is not written to checkpoints). It can be
    given at construction or later with :meth:`set_cost_matrix` (e.g. by a
    hook that builds it from teacher features); ``forward`` raises until
    one is set.

    Args:
        cost_matrix (str | PathLike | torch.Tensor | numpy.ndarray, optional):
            A ``.pth``/``.npy`` file or an (n, n) matrix. Defaults to None.
        temperature (float): Softmax temperature of WD. Defaults to 2.0.
        wd_weight (float): Weight lambda of WD (a hook may schedule it).
            Defaults to 1.0.
        sinkhorn_reg (float): Entropic regularisation eta. Defaults to 0.05.
        sinkhorn_iters (int): Number of Sinkhorn iterations. Defaults to 10.
        log_domain (bool): Use the log-domain solver. Defaults to False.
        kappa (float, optional): If given, ``cost_matrix`` is a raw
            ``1 - IR`` matrix, such as the official WKD files
            (``*_linear_cka.pth`` hold 1 - CKA; the official code uses
            kappa 1, or 2 for R50 -> MobileNetV1), and is sharpened into
            ``1 - exp(-kappa * (1 - IR))``. If None, ``cost_matrix`` is used
            as the cost as is. Defaults to None.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over samples.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the whole loss. Defaults to 1.0.
    """

    accepts_labels = True
    accepts_weight = True
    scheduled_attr = 'wd_weight'
    holds_cost_matrix = True

    def __init__(self,
                 cost_matrix: Optional[CostLike] = None,
                 temperature: float = 2.0,
                 wd_weight: float = 1.0,
                 sinkhorn_reg: float = 0.05,
                 sinkhorn_iters: int = 10,
                 log_domain: bool = False,
                 kappa: Optional[float] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        _check_wkd_hparams(temperature, sinkhorn_reg, sinkhorn_iters)
        check_reduction(reduction)
        self.temperature = temperature
        self.wd_weight = wd_weight
        self.sinkhorn_reg = sinkhorn_reg
        self.sinkhorn_iters = sinkhorn_iters
        self.log_domain = log_domain
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.register_buffer('cost_matrix', None, persistent=False)
        if cost_matrix is not None:
            self.set_cost_matrix(cost_matrix, kappa=kappa)
        elif kappa is not None:
            raise ValueError('kappa is given but cost_matrix is None; pass '
                             'kappa to set_cost_matrix() with the matrix')

    def set_cost_matrix(self,
                        cost_matrix: CostLike,
                        kappa: Optional[float] = None) -> None:
        """Set (or replace) the cost matrix after validating it.

        Args:
            cost_matrix (str | PathLike | torch.Tensor | numpy.ndarray): A
                ``.pth``/``.npy`` file or an (n, n) matrix.
            kappa (float, optional): If given, ``cost_matrix`` is a raw
                ``1 - IR`` matrix and is sharpened (see the class
                docstring). Defaults to None.
        """
        cost = as_cost_matrix(cost_matrix, kappa=kappa)
        if not self.log_domain and cost.numel() > 0:
            warn_if_kernel_underflows(
                float(cost.max()), self.sinkhorn_reg, torch.float32)
        old = self.cost_matrix
        if old is not None:
            cost = cost.to(old.device)
        self.cost_matrix = cost

    def forward(self,
                student_logits: Tensor,
                teacher_logits: Tensor,
                labels: Optional[Tensor] = None,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the weighted WKD-L loss.

        Args:
            student_logits (torch.Tensor): Shape (N, n).
            teacher_logits (torch.Tensor): Shape (N, n); detached.
            labels (torch.Tensor, optional): Target classes (N, ) for target
                separation. Defaults to None.
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
        reduction = reduction_override or self.reduction
        if self.cost_matrix is None:
            raise ValueError(
                'WKDLogitLoss has no cost matrix: pass cost_matrix (a '
                '.pth/.npy path or a tensor) at construction, or call '
                'set_cost_matrix() (e.g. from a hook) before the first '
                'forward')
        labels = _check_wkd_inputs(student_logits, teacher_logits, labels)
        check_cost_width(self.cost_matrix.shape[0], student_logits.shape[1])
        if self.cost_matrix.device != student_logits.device:
            self.cost_matrix = self.cost_matrix.to(student_logits.device)
        loss = _wkd_logit_loss_per_sample(
            student_logits, teacher_logits, self.cost_matrix, labels,
            self.temperature, self.wd_weight, self.sinkhorn_reg,
            self.sinkhorn_iters, self.log_domain)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction,
                                                     avg_factor)
