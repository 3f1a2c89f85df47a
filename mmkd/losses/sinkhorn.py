# Copyright (c) OpenMMLab. All rights reserved.
"""Batched Sinkhorn iterations with one cost matrix shared by all problems.

Choosing a solver:

* ``log_domain=False`` (plain, the default) runs the official WKD iteration
  ``v = b / (K^T u + 1e-8)``, ``u = a / (K v + 1e-8)`` with
  ``K = exp(-C / reg)``, starting from ``u = 1 / m``. Each step is one
  ``(N x n) @ (n x n)`` matmul against the shared kernel, so memory is
  O(N n + n^2). It is fast, and it is what the published WKD loss weights
  were tuned on, but ``exp(-C / reg)`` underflows once ``C / reg`` exceeds
  about 87 (float32) or 708 (float64): the kernel then loses its
  off-diagonal entries and the transport cost silently collapses towards 0.
* ``log_domain=True`` runs the same iteration on log-scalings with
  ``logsumexp`` (POT's ``sinkhorn_log``). It stays finite for any ``reg``
  and is the choice for small ``reg`` or many iterations (converged OT).
  Each step costs O(N n^2) exponentials (computed in chunks, never stored),
  so it is much slower than the plain solver; memory stays O(N n + n^2).

Gradients flow through the unrolled iterations (autograd), not through the
envelope theorem. The cost matrix is treated as a constant.
"""
import math
import warnings
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from mmkd.utils.checks import check_int
from .utils import autocast_disabled, check_positive

#: Guard added to the denominators of the plain iteration (official code).
PLAIN_GUARD = 1e-8
# Elements of the [rows, n, m] temporaries built per chunk in log domain.
_CHUNK_ELEMENTS = 1 << 22


class _LogSumExpMatmul(torch.autograd.Function):
    """``out[b, j] = logsumexp_i(x[b, i] + m[i, j])``, chunked over ``b``.

    The [B, n, m] intermediate is never stored: forward and backward
    rebuild it chunk by chunk, so memory is O(B (n + m) + chunk n m).
    ``m`` is a constant (no gradient).
    """

    @staticmethod
    def forward(ctx, x: Tensor, m: Tensor) -> Tensor:  # type: ignore
        rows = max(1, _CHUNK_ELEMENTS // max(1, m.numel()))
        out = x.new_empty(x.shape[0], m.shape[1])
        for start in range(0, x.shape[0], rows):
            part = x[start:start + rows, :, None] + m
            out[start:start + rows] = torch.logsumexp(part, dim=1)
        ctx.save_for_backward(x, m, out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):  # type: ignore
        x, m, out = ctx.saved_tensors
        rows = max(1, _CHUNK_ELEMENTS // max(1, m.numel()))
        # A column whose terms are all -inf has out = -inf and contributes
        # nothing; shifting it by 0 keeps exp(-inf - 0) = 0 instead of NaN.
        out = out.masked_fill(torch.isneginf(out), 0)
        grad_x = torch.empty_like(x)
        for start in range(0, x.shape[0], rows):
            stop = start + rows
            weights = torch.exp(x[start:stop, :, None] + m -
                                out[start:stop, None, :])
            grad_x[start:stop] = torch.bmm(weights,
                                           grad_out[start:stop, :,
                                                    None]).squeeze(-1)
        return grad_x, None


def _safe_log(p: Tensor) -> Tensor:
    """``log(p)`` with ``-inf`` (and a zero gradient) where ``p == 0``."""
    positive = p > 0
    logs = torch.log(torch.where(positive, p, torch.ones_like(p)))
    return logs.masked_fill(~positive, float('-inf'))


def _initial_scaling(a: Tensor, support: Optional[Tensor]) -> Tensor:
    """``u = 1 / m`` on the ``m`` classes of each problem, 0 elsewhere."""
    if support is None:
        return torch.full_like(a, 1.0 / a.shape[-1])
    support = support.to(a.dtype)
    return support / support.sum(dim=-1, keepdim=True)


def _check_sinkhorn_inputs(a: Tensor, b: Tensor, cost: Tensor, reg: float,
                           iters: int, support: Optional[Tensor]) -> None:
    check_positive('reg', reg)
    check_int('iters', iters)
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError('a and b must both have shape [N, n], got '
                         f'{tuple(a.shape)} and {tuple(b.shape)}')
    n = a.shape[-1]
    if tuple(cost.shape) != (n, n):
        raise ValueError(f'cost must have shape ({n}, {n}) to match the '
                         f'marginals, got {tuple(cost.shape)}')
    if support is not None and support.shape != a.shape:
        raise ValueError(f'support must have the shape of a, '
                         f'{tuple(a.shape)}, got {tuple(support.shape)}')


def warn_if_kernel_underflows(cost_max: float, reg: float,
                              dtype: torch.dtype) -> None:
    """Warn when ``exp(-cost / reg)`` underflows for the largest cost.

    Args:
        cost_max (float): Largest entry of the cost matrix.
        reg (float): Entropic regularisation (eta).
        dtype (torch.dtype): Dtype the kernel is computed in.
    """
    if cost_max / reg > -math.log(torch.finfo(dtype).tiny):
        warnings.warn(
            f'exp(-C / reg) underflows in {dtype} (max cost {cost_max:.4g}, '
            f'reg {reg:g}): plain Sinkhorn loses those kernel entries and '
            'its transport cost collapses towards 0; use log_domain=True '
            'or a larger reg')


def _sinkhorn_scalings(a: Tensor,
                      b: Tensor,
                      cost: Tensor,
                      *,
                      reg: float,
                      iters: int,
                      log_domain: bool = False,
                      support: Optional[Tensor] = None
                      ) -> Tuple[Tensor, Tensor]:
    """Run Sinkhorn and return the scalings (or log-scalings) ``u, v``.

    The plan is ``diag(u) K diag(v)`` with ``K = exp(-cost / reg)``, or
    ``exp(log_u_i - cost_ij / reg + log_v_j)`` in log domain. Inputs are
    used as given (no dtype change, no validation); see :func:`sinkhorn`.

    Args:
        a (torch.Tensor): Row marginals of shape (N, n).
        b (torch.Tensor): Column marginals of shape (N, n).
        cost (torch.Tensor): Shared cost of shape (n, n), a constant.
        reg (float): Entropic regularisation (eta).
        iters (int): Number of (v, u) update pairs.
        log_domain (bool): Whether to iterate on log-scalings.
            Defaults to False.
        support (torch.Tensor, optional): Boolean mask of shape (N, n) of
            the classes taking part in each problem; ``u`` starts at
            ``1 / support.sum()`` on them and 0 elsewhere, which reproduces
            the smaller problem without those classes exactly (their mass
            must be 0). Defaults to None (all classes).

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``(u, v)`` of shape (N, n), or
        ``(log_u, log_v)`` when ``log_domain`` is True.
    """
    cost = cost.detach()
    if not log_domain:
        kernel = torch.exp(-cost / reg)
        kernel_t = kernel.t()
        u = _initial_scaling(a, support)
        for _ in range(iters):
            v = b / (u @ kernel + PLAIN_GUARD)
            u = a / (v @ kernel_t + PLAIN_GUARD)
        return u, v
    neg_cost = -cost / reg
    neg_cost_t = neg_cost.t().contiguous()
    log_a, log_b = _safe_log(a), _safe_log(b)
    log_u = torch.log(_initial_scaling(a, support))
    for _ in range(iters):
        log_v = log_b - _LogSumExpMatmul.apply(log_u, neg_cost)
        log_u = log_a - _LogSumExpMatmul.apply(log_v, neg_cost_t)
    return log_u, log_v


def _sinkhorn_cost(a: Tensor,
                   b: Tensor,
                   cost: Tensor,
                   *,
                   reg: float,
                   iters: int,
                   log_domain: bool = False,
                   support: Optional[Tensor] = None) -> Tensor:
    """Transport cost ``<P, cost>`` of each Sinkhorn problem.

    Never forms the (N, n, n) plan: the plain solver uses
    ``sum_j v_j (u @ (K * cost))_j``, the log solver one more chunked
    logsumexp. Inputs are used as given (see :func:`_sinkhorn_scalings`).

    Args:
        a (torch.Tensor): Row marginals of shape (N, n).
        b (torch.Tensor): Column marginals of shape (N, n).
        cost (torch.Tensor): Shared cost of shape (n, n), a constant.
        reg (float): Entropic regularisation (eta).
        iters (int): Number of iterations.
        log_domain (bool): Whether to use the log-domain solver.
            Defaults to False.
        support (torch.Tensor, optional): See :func:`_sinkhorn_scalings`.
            Defaults to None.

    Returns:
        torch.Tensor: Transport cost of each problem, shape (N, ). The
        entropy term is not included (like ``ot.sinkhorn2``).
    """
    cost = cost.detach()
    u, v = _sinkhorn_scalings(
        a, b, cost, reg=reg, iters=iters, log_domain=log_domain,
        support=support)
    if not log_domain:
        weighted_kernel = torch.exp(-cost / reg) * cost
        return ((u @ weighted_kernel) * v).sum(dim=-1)
    # <P, C> = sum_i exp(log_u_i + logsumexp_j(log_v_j - C_ij/reg + log C_ij))
    log_weighted = (-cost / reg + _safe_log(cost)).t().contiguous()
    return torch.exp(u + _LogSumExpMatmul.apply(v, log_weighted)).sum(dim=-1)


def _solve(a: Tensor, b: Tensor, cost: Tensor, reg: float, iters: int,
           log_domain: bool, support: Optional[Tensor],
           want_plan: bool) -> Tensor:
    """Validate, apply the dtype policy and run one of the solvers."""
    single = a.dim() == 1
    if single:
        a, b = a[None], b[None]
        support = None if support is None else support[None]
    _check_sinkhorn_inputs(a, b, cost, reg, iters, support)
    dtype = torch.float64 if torch.float64 in (a.dtype, b.dtype,
                                               cost.dtype) else torch.float32
    with autocast_disabled(a.device):
        a, b = a.to(dtype), b.to(dtype)
        cost = cost.detach().to(device=a.device, dtype=dtype)
        if not want_plan:
            out = _sinkhorn_cost(
                a, b, cost, reg=reg, iters=iters, log_domain=log_domain,
                support=support)
        else:
            u, v = _sinkhorn_scalings(
                a, b, cost, reg=reg, iters=iters, log_domain=log_domain,
                support=support)
            if log_domain:
                out = torch.exp(u[:, :, None] - cost / reg + v[:, None, :])
            else:
                out = u[:, :, None] * torch.exp(-cost / reg) * v[:, None, :]
    return out[0] if single else out


def sinkhorn(a: Tensor,
             b: Tensor,
             cost: Tensor,
             *,
             reg: float,
             iters: int,
             log_domain: bool = False,
             support: Optional[Tensor] = None) -> Tensor:
    """Entropic optimal transport plans of a batch of problems.

    Solves ``min <P, C> + reg * sum P log P`` s.t. ``P 1 = a``,
    ``P^T 1 = b`` for each row of ``a`` and ``b`` with ``iters`` Sinkhorn
    iterations (see the module docstring for the two solvers). The plain
    solver is the official WKD iteration, 1e-8 guards and ``u = 1 / n``
    start included; the log solver matches POT's ``sinkhorn_log``. Runs in
    float32 (float64 if an input is float64) with autocast disabled.

    Args:
        a (torch.Tensor): Row marginals of shape (N, n) (or (n, )).
        b (torch.Tensor): Column marginals of the same shape.
        cost (torch.Tensor): Cost shared by all problems, shape (n, n).
        reg (float): Entropic regularisation (eta), > 0.
        iters (int): Number of iterations, >= 1. Fixed; there is no
            convergence check.
        log_domain (bool): Whether to use the log-domain solver.
            Defaults to False.
        support (torch.Tensor, optional): Boolean mask (N, n) of the
            classes in each problem (others must have zero mass); ``u``
            starts at ``1 / m`` on the ``m`` classes of the support and 0
            elsewhere, which reproduces the smaller problem exactly. Used
            by WKD-L's target separation. Defaults to None (all classes).

    Returns:
        torch.Tensor: Transport plans of shape (N, n, n) (or (n, n)).
    """
    return _solve(a, b, cost, reg, iters, log_domain, support, True)


def sinkhorn_cost(a: Tensor,
                  b: Tensor,
                  cost: Tensor,
                  *,
                  reg: float,
                  iters: int,
                  log_domain: bool = False,
                  support: Optional[Tensor] = None) -> Tensor:
    """Transport cost ``<P, cost>`` of a batch of Sinkhorn problems.

    Same solvers and arguments as :func:`sinkhorn`, without forming the
    (N, n, n) plans: memory stays O(N n + n^2). Differentiable with respect
    to ``a`` and ``b`` through the unrolled iterations.

    Returns:
        torch.Tensor: Transport cost of each problem, shape (N, ) (or a
        scalar); the entropy term is not included (like ``ot.sinkhorn2``).
    """
    return _solve(a, b, cost, reg, iters, log_domain, support, False)
