# Copyright (c) OpenMMLab. All rights reserved.
"""2-Wasserstein distance between Gaussians (the Bures formula).

``W2^2 = ||mu_s - mu_t||^2
         + tr(S_s + S_t - 2 (S_t^1/2 S_s S_t^1/2)^1/2)``.

With diagonal covariances the covariance term is
``||sqrt(var_s) - sqrt(var_t)||^2``. Full covariances use a symmetric PSD
square root computed with ``eigh`` in float64 (eigenvalues below a relative
round-off threshold clamped to 0) whose backward solves the Sylvester
equation ``X dX + dX X = dS`` in the eigenbasis: ``dX_ij = dS_ij /
(r_i + r_j)``. It divides by *sums* of square-root eigenvalues, never by
differences, so repeated eigenvalues (e.g. student == teacher) are fine;
the only singular case, two zero eigenvalues, gets a zero gradient (the
derivative of sqrt at 0 is unbounded). The covariance term is clamped at 0
in value (rounding can make it slightly negative) while keeping the
gradient of the unclamped expression.
"""
from typing import Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from mmkd.utils.checks import check_choice
from .utils import shape_str

COVARIANCE_TYPES = ('diag', 'full')


def check_covariance(covariance: str) -> None:
    """Raise a ``ValueError`` unless ``covariance`` is a known option.

    Args:
        covariance (str): The covariance option.
    """
    check_choice('covariance', covariance, COVARIANCE_TYPES)


def _symmetrise(x: Tensor) -> Tensor:
    return (x + x.transpose(-1, -2)) / 2


class _PSDSqrtm(torch.autograd.Function):
    """Principal square root of symmetric PSD matrices (batched)."""

    @staticmethod
    def forward(ctx, matrix: Tensor) -> Tensor:  # type: ignore
        sym = _symmetrise(matrix.double())
        evals, evecs = torch.linalg.eigh(sym)
        size = matrix.shape[-1]
        top = evals[..., -1:].clamp(min=0)
        cutoff = top * size * torch.finfo(torch.float64).eps
        roots = torch.where(evals > cutoff, evals,
                            torch.zeros_like(evals)).sqrt()
        ctx.save_for_backward(evecs, roots)
        root = (evecs * roots[..., None, :]) @ evecs.transpose(-1, -2)
        return root.to(matrix.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore
        evecs, roots = ctx.saved_tensors
        grad64 = _symmetrise(grad.double())
        rotated = evecs.transpose(-1, -2) @ grad64 @ evecs
        denom = roots[..., :, None] + roots[..., None, :]
        solved = torch.where(denom > 0, rotated / denom.clamp(min=1e-300),
                             torch.zeros_like(rotated))
        return (evecs @ solved @ evecs.transpose(-1, -2)).to(grad.dtype)


def psd_sqrtm(matrix: Tensor) -> Tensor:
    """Symmetric square root of PSD matrices with a stable gradient.

    Args:
        matrix (torch.Tensor): Symmetric PSD matrices of shape (..., C, C).

    Returns:
        torch.Tensor: ``matrix^(1/2)`` of the same shape and dtype.
    """
    return _PSDSqrtm.apply(matrix)


def _clamp_value_keep_grad(x: Tensor) -> Tensor:
    """``max(x, 0)`` in value, the gradient of ``x`` in backward."""
    return x + (x.clamp(min=0) - x).detach()


def gaussian_wasserstein_terms(mean_s: Tensor,
                               cov_s: Tensor,
                               mean_t: Tensor,
                               cov_t: Tensor,
                               *,
                               covariance: str = 'diag'
                               ) -> Tuple[Tensor, Tensor]:
    """The mean and covariance terms of the Gaussian W2^2, separately.

    Args and shapes as :func:`gaussian_wasserstein`.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``||mu_s - mu_t||^2`` and the
        covariance (Bures) term, each of shape (..., ).
    """
    check_covariance(covariance)
    if mean_s.shape != mean_t.shape:
        raise ValueError(
            f'student mean has shape {shape_str(mean_s.shape)} but teacher '
            f'mean has {shape_str(mean_t.shape)}; add a projector mapping '
            'the student features to the teacher channels')
    cov_shape = (mean_s.shape if covariance == 'diag' else
                 mean_s.shape + mean_s.shape[-1:])
    for name, cov in (('cov_s', cov_s), ('cov_t', cov_t)):
        if cov.shape != cov_shape:
            what = ('variances (..., C)' if covariance == 'diag' else
                    'covariance matrices (..., C, C)')
            raise ValueError(
                f"{name} must hold {what} of shape {shape_str(cov_shape)} "
                f"for covariance='{covariance}', got {shape_str(cov.shape)}")
    mean_term = (mean_s - mean_t).square().sum(dim=-1)
    if covariance == 'diag':
        std_s = cov_s.clamp(min=0).sqrt()
        std_t = cov_t.clamp(min=0).sqrt()
        return mean_term, (std_s - std_t).square().sum(dim=-1)
    cov_s64, cov_t64 = _symmetrise(cov_s.double()), _symmetrise(
        cov_t.double())
    root_t = psd_sqrtm(cov_t64)
    middle = _symmetrise(root_t @ cov_s64 @ root_t)
    cross = psd_sqrtm(middle).diagonal(dim1=-2, dim2=-1).sum(dim=-1)
    trace = (cov_s64.diagonal(dim1=-2, dim2=-1).sum(dim=-1) +
             cov_t64.diagonal(dim1=-2, dim2=-1).sum(dim=-1))
    cov_term = _clamp_value_keep_grad(trace - 2 * cross)
    return mean_term, cov_term.to(mean_term.dtype)


def gaussian_wasserstein(mean_s: Tensor,
                         cov_s: Tensor,
                         mean_t: Tensor,
                         cov_t: Tensor,
                         *,
                         covariance: str = 'diag') -> Tensor:
    """Squared 2-Wasserstein distance between Gaussians, per item.

    Args:
        mean_s (torch.Tensor): Student means of shape (..., C).
        cov_s (torch.Tensor): Student variances (..., C) for
            ``covariance='diag'``, or covariance matrices (..., C, C) for
            ``'full'``.
        mean_t (torch.Tensor): Teacher means of shape (..., C).
        cov_t (torch.Tensor): Teacher variances or covariances, as
            ``cov_s``.
        covariance (str): ``'diag'`` or ``'full'``. Defaults to ``'diag'``.

    Returns:
        torch.Tensor: W2^2 of shape (..., ), never negative. Gradients flow
        to all four inputs (nothing is detached); ``'full'`` stays finite
        when student equals teacher (0 gradient for positive definite
        covariances). Zero variances in ``'diag'`` have an unbounded
        gradient, so add a floor (WKD-F uses ``var + eps``).
    """
    mean_term, cov_term = gaussian_wasserstein_terms(
        mean_s, cov_s, mean_t, cov_t, covariance=covariance)
    return mean_term + cov_term
