# Copyright (c) OpenMMLab. All rights reserved.
"""KDDM: knowledge distillation through distribution matching.

The loss is ``D(P_S, P_T)`` between the mini-batch distributions of the
pooled penultimate features ``z`` (shape (N, D)) of the student and the
teacher on the same images (``docs/methods.md`` section 6, after the KDDM authors' slides).
The metrics:

============================  ==========================================
``metric``                    ``D``
============================  ==========================================
``'wasserstein'``             exact empirical W2^2 (E): optimal transport
                              between the two point clouds, cost
                              ``||z_s_i - z_t_j||^2``, uniform weights
``'joint_wasserstein'``       exact W2^2 over (feature, label) pairs (JW2)
``'gaussian_wasserstein'``    W2^2 between fitted Gaussians (G)
``'gaussian_kl'``             ``KL(N_S || N_T)`` between fitted Gaussians
``'mmd'``                     squared MMD, linear or RBF kernel
============================  ==========================================

``conditional=True`` sums ``D`` over the classes present in the batch,
between the class-``c`` subsets (CW2(E), CW2(G), ...), for every metric but
``'joint_wasserstein'``.

Exact OT: with uniform weights and ``n == m`` an optimal plan is a
permutation (Birkhoff-von Neumann), found by
:func:`scipy.optimize.linear_sum_assignment`; ``n != m`` uses POT's
``ot.emd``. The plan is a constant and the loss is ``<plan, cost>``, whose
gradient is the envelope gradient of the OT value.

Gaussian fits use the biased (population) moments, as the public KDDM
code, made positive definite by ``(1 - shrinkage) * S + shrinkage *
(tr(S) / D) * I + eps * I`` (on the variances for ``'diag'``), so a class
with one sample, a constant (dead) channel or ``N < D`` stay finite.

Everything is computed in float32 at least, with autocast off.
"""
from typing import Callable, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from mmkd.utils.checks import check_choice as _check_choice
from .contract import DistillLoss
from .gaussian_wasserstein import check_covariance, gaussian_wasserstein
from .utils import (autocast_disabled, check_labels, check_positive,
                    compute_dtype, graph_zero, shape_str)

__all__ = [
    'KDDM_METRICS', 'pairwise_sq_dists', 'uniform_ot_plan',
    'empirical_wasserstein', 'joint_wasserstein', 'fit_gaussian',
    'fitted_gaussian_wasserstein', 'gaussian_kl_divergence',
    'mmd_linear', 'mmd_rbf', 'class_conditional', 'kddm_distance',
    'KDDMLoss'
]

#: The values of ``metric``.
KDDM_METRICS = ('wasserstein', 'joint_wasserstein', 'gaussian_wasserstein',
                'gaussian_kl', 'mmd')
#: Label costs of the joint W2.
LABEL_COSTS = ('sqeuclidean', 'kl')
#: Kernels of the MMD.
MMD_KERNELS = ('linear', 'rbf')
#: How the per-class terms of a conditional metric are combined.
CLASS_REDUCTIONS = ('sum', 'mean')


# ----------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------
def _check_feature_pair(feats_s: Tensor,
                        feats_t: Tensor,
                        same_size: bool = False) -> None:
    """Check two feature matrices (n, D) and (m, D)."""
    for name, feats in (('student features', feats_s),
                        ('teacher features', feats_t)):
        if not isinstance(feats, Tensor):
            raise TypeError(f'{name} must be a torch.Tensor, got '
                            f'{type(feats).__name__}; mmpretrain necks '
                            'return a tuple, pass its last item')
        if feats.dim() != 2:
            raise ValueError(
                f'{name} must have shape (N, D) (pooled features), got '
                f'{shape_str(feats.shape)}; pool spatial maps (e.g. '
                'GlobalAveragePooling) or flatten them first')
    if feats_s.shape[1] != feats_t.shape[1]:
        raise ValueError(
            f'student features have {feats_s.shape[1]} channels but teacher '
            f'features have {feats_t.shape[1]}; add a connector mapping the '
            'student features to the teacher channels')
    if same_size and feats_s.shape[0] != feats_t.shape[0]:
        raise ValueError(
            f'student and teacher features must describe the same samples, '
            f'got {feats_s.shape[0]} and {feats_t.shape[0]} rows')


def _check_non_negative(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and value >= 0):
        raise ValueError(f'{name} must be a number >= 0, got {value!r}')


# ----------------------------------------------------------------------
# empirical optimal transport
# ----------------------------------------------------------------------
def pairwise_sq_dists(x: Tensor, y: Tensor) -> Tensor:
    """Squared Euclidean distances ``||x_i - y_j||^2``.

    Computed from differences (not ``|x|^2 + |y|^2 - 2 x.y``), so the
    distance of a point to itself is exactly 0; the gradient at 0 is 0.

    Args:
        x (torch.Tensor): Points of shape (n, D).
        y (torch.Tensor): Points of shape (m, D).

    Returns:
        torch.Tensor: The cost matrix of shape (n, m).
    """
    return torch.cdist(
        x, y, compute_mode='donot_use_mm_for_euclid_dist').square()


def uniform_ot_plan(cost: Tensor) -> Tensor:
    """An exact optimal transport plan between uniform weights.

    Args:
        cost (torch.Tensor): Cost matrix of shape (n, m), n, m >= 1.

    Returns:
        torch.Tensor: A plan of shape (n, m) with rows summing to ``1 / n``
        and columns to ``1 / m``, no gradient, the dtype and device of
        ``cost``. For ``n == m`` it is a permutation matrix divided by n
        (``scipy.optimize.linear_sum_assignment``); otherwise POT's
        ``ot.emd`` solves the transport LP.
    """
    n, m = cost.shape
    array = cost.detach().to('cpu', torch.float64).numpy()
    if not np.isfinite(array).all():
        raise ValueError('the transport cost has non-finite entries; the '
                         'features contain NaN/inf (check the learning '
                         'rate and the loss weight)')
    if n == m:
        from scipy.optimize import linear_sum_assignment
        rows, cols = linear_sum_assignment(array)
        plan = np.zeros((n, m))
        plan[rows, cols] = 1.0 / n
    else:
        try:
            import ot
        except ImportError as e:  # pragma: no cover - POT is a dependency
            raise ImportError(
                'transport between batches of different sizes needs POT; '
                'pip install POT') from e
        plan = ot.emd(np.full(n, 1.0 / n), np.full(m, 1.0 / m), array)
    return torch.as_tensor(plan, dtype=cost.dtype, device=cost.device)


def _transport_cost(cost: Tensor) -> Tensor:
    """``<plan, cost>`` with a constant exact plan (envelope gradient)."""
    return (uniform_ot_plan(cost) * cost).sum()


def empirical_wasserstein(feats_s: Tensor, feats_t: Tensor) -> Tensor:
    """Exact squared 2-Wasserstein distance between two point clouds.

    ``W2^2 = min_P <P, C>`` with ``C_ij = ||z_s_i - z_t_j||^2`` and uniform
    weights (POT: ``ot.emd2(a, b, ot.dist(z_s, z_t))``). The optimal plan is
    a constant, so the gradient is ``<P*, dC>`` and flows into both inputs.

    Args:
        feats_s (torch.Tensor): Student features of shape (n, D).
        feats_t (torch.Tensor): Teacher features of shape (m, D).

    Returns:
        torch.Tensor: Scalar W2^2 (0 if either cloud is empty).
    """
    _check_feature_pair(feats_s, feats_t)
    if feats_s.shape[0] == 0 or feats_t.shape[0] == 0:
        return graph_zero(feats_s, feats_t)
    return _transport_cost(pairwise_sq_dists(feats_s, feats_t))


def _pairwise_kl(logits_s: Tensor, logits_t: Tensor) -> Tensor:
    """``KL(softmax(ls_i) || softmax(lt_j))`` for all pairs, (n, m)."""
    log_p = F.log_softmax(logits_s, dim=1)
    log_q = F.log_softmax(logits_t, dim=1)
    p = log_p.exp()
    return (p * log_p).sum(dim=1, keepdim=True) - p @ log_q.t()


def joint_wasserstein(feats_s: Tensor,
                      feats_t: Tensor,
                      label_s: Tensor,
                      label_t: Tensor,
                      beta: float = 1.0,
                      label_cost: str = 'sqeuclidean') -> Tensor:
    """Exact W2 between the joint (feature, label) clouds (JW2).

    The cost is ``C_ij = Cz_ij / max(Cz) + beta * Cy_ij`` with
    ``Cz_ij = ||z_s_i - z_t_j||^2`` (student against teacher; the public
    KDDM code compares the student with itself here, a bug) normalised by
    its (constant) maximum, and ``Cy`` the label cost between the student's
    label vector ``i`` and the teacher's ``j``: ``'sqeuclidean'``
    ``||y_s_i - y_t_j||^2`` (the public code passes the logits) or ``'kl'``
    ``KL(softmax(y_s_i) || softmax(y_t_j))``. Uniform weights, exact plan,
    loss ``<plan, C>``.

    Args:
        feats_s (torch.Tensor): Student features of shape (n, D).
        feats_t (torch.Tensor): Teacher features of shape (m, D).
        label_s (torch.Tensor): Student label vectors (logits) of shape
            (n, K).
        label_t (torch.Tensor): Teacher label vectors (logits) of shape
            (m, K).
        beta (float): Weight of the label cost. Defaults to 1.0.
        label_cost (str): ``'sqeuclidean'`` or ``'kl'``. Defaults to
            ``'sqeuclidean'``.

    Returns:
        torch.Tensor: The scalar transport cost.
    """
    _check_feature_pair(feats_s, feats_t)
    _check_choice('label_cost', label_cost, LABEL_COSTS)
    _check_non_negative('beta', beta)
    for name, lab, feats in (('student labels', label_s, feats_s),
                             ('teacher labels', label_t, feats_t)):
        if not isinstance(lab, Tensor) or lab.dim() != 2 or \
                lab.shape[0] != feats.shape[0]:
            got = (shape_str(lab.shape) if isinstance(lab, Tensor) else
                   type(lab).__name__)
            raise ValueError(
                f'{name} must be label vectors (e.g. logits) of shape '
                f'({feats.shape[0]}, num_classes), one row per feature, '
                f'got {got}')
    if label_s.shape[1] != label_t.shape[1]:
        raise ValueError(
            f'student labels have {label_s.shape[1]} columns but teacher '
            f'labels have {label_t.shape[1]}; both must score the same '
            'classes')
    if feats_s.shape[0] == 0 or feats_t.shape[0] == 0:
        return graph_zero(feats_s, feats_t, label_s, label_t)
    feat_cost = pairwise_sq_dists(feats_s, feats_t)
    scale = feat_cost.detach().max().clamp(
        min=torch.finfo(feat_cost.dtype).tiny)
    if label_cost == 'sqeuclidean':
        lab_cost = pairwise_sq_dists(label_s, label_t)
    else:
        lab_cost = _pairwise_kl(label_s, label_t)
    return _transport_cost(feat_cost / scale + beta * lab_cost)


# ----------------------------------------------------------------------
# Gaussian approximations
# ----------------------------------------------------------------------
def fit_gaussian(feats: Tensor,
                 covariance: str = 'diag',
                 eps: float = 1e-4,
                 shrinkage: float = 0.0) -> Tuple[Tensor, Tensor]:
    """Mean and regularised covariance of a feature batch.

    ``S`` is the biased (population) covariance, 0 for a single sample;
    the returned covariance is ``(1 - shrinkage) * S + shrinkage *
    (tr(S) / D) * I + eps * I``, positive definite when ``eps > 0``.

    Args:
        feats (torch.Tensor): Features of shape (N, D), N >= 1.
        covariance (str): ``'diag'`` (variances) or ``'full'``.
            Defaults to ``'diag'``.
        eps (float): Variance floor added to the diagonal. Defaults to
            1e-4.
        shrinkage (float): Shrinkage towards the scaled identity, in
            [0, 1]. Defaults to 0.0.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: The mean (D, ) and the variances
        (D, ) for ``'diag'`` or the covariance (D, D) for ``'full'``.
    """
    check_covariance(covariance)
    _check_non_negative('eps', eps)
    if not (isinstance(shrinkage, (int, float)) and 0 <= shrinkage <= 1):
        raise ValueError(f'shrinkage must lie in [0, 1], got {shrinkage!r}')
    if feats.dim() != 2 or feats.shape[0] == 0:
        raise ValueError('fit_gaussian needs features of shape (N, D) with '
                         f'N >= 1, got {shape_str(feats.shape)}')
    num, dim = feats.shape
    mean = feats.mean(dim=0)
    centred = feats - mean
    if covariance == 'diag':
        var = centred.square().mean(dim=0)
        return mean, (1 - shrinkage) * var + shrinkage * var.mean() + eps
    cov = centred.t() @ centred / num
    eye = torch.eye(dim, dtype=feats.dtype, device=feats.device)
    target = cov.diagonal().mean()
    return mean, (1 - shrinkage) * cov + (shrinkage * target + eps) * eye


def fitted_gaussian_wasserstein(feats_s: Tensor,
                                feats_t: Tensor,
                                covariance: str = 'diag',
                                eps: float = 1e-4,
                                shrinkage: float = 0.0) -> Tensor:
    """W2^2 between the Gaussians fitted to two feature batches.

    Fits with :func:`fit_gaussian` and evaluates the Bures formula with
    :func:`mmkd.losses.gaussian_wasserstein.gaussian_wasserstein`.

    Args:
        feats_s (torch.Tensor): Student features of shape (n, D).
        feats_t (torch.Tensor): Teacher features of shape (m, D).
        covariance (str): ``'diag'`` or ``'full'``. Defaults to ``'diag'``.
        eps (float): Variance floor. Defaults to 1e-4.
        shrinkage (float): Covariance shrinkage in [0, 1]. Defaults to 0.

    Returns:
        torch.Tensor: Scalar W2^2 (0 if either batch is empty).
    """
    _check_feature_pair(feats_s, feats_t)
    check_covariance(covariance)
    if feats_s.shape[0] == 0 or feats_t.shape[0] == 0:
        return graph_zero(feats_s, feats_t)
    mean_s, cov_s = fit_gaussian(feats_s, covariance, eps, shrinkage)
    mean_t, cov_t = fit_gaussian(feats_t, covariance, eps, shrinkage)
    return gaussian_wasserstein(
        mean_s, cov_s, mean_t, cov_t, covariance=covariance)


def gaussian_kl_divergence(feats_s: Tensor,
                           feats_t: Tensor,
                           covariance: str = 'diag',
                           eps: float = 1e-4,
                           shrinkage: float = 0.0) -> Tensor:
    """``KL(N_S || N_T)`` between the Gaussians fitted to two batches.

    ``KL = 1/2 [tr(S_t^-1 S_s) + (m_t - m_s)^T S_t^-1 (m_t - m_s) - D
    + log det S_t - log det S_s]``, the direction of the public KDDM code
    (student first). ``'full'`` is evaluated in float64 with Cholesky
    factors. Not symmetric.

    Args:
        feats_s (torch.Tensor): Student features of shape (n, D).
        feats_t (torch.Tensor): Teacher features of shape (m, D).
        covariance (str): ``'diag'`` or ``'full'``. Defaults to ``'diag'``.
        eps (float): Variance floor; must be > 0 unless both covariances
            are known to be positive definite. Defaults to 1e-4.
        shrinkage (float): Covariance shrinkage in [0, 1]. Defaults to 0.

    Returns:
        torch.Tensor: The scalar KL (0 if either batch is empty).
    """
    _check_feature_pair(feats_s, feats_t)
    check_covariance(covariance)
    if feats_s.shape[0] == 0 or feats_t.shape[0] == 0:
        return graph_zero(feats_s, feats_t)
    mean_s, cov_s = fit_gaussian(feats_s, covariance, eps, shrinkage)
    mean_t, cov_t = fit_gaussian(feats_t, covariance, eps, shrinkage)
    diff = mean_t - mean_s
    dim = mean_s.shape[0]
    if covariance == 'diag':
        return 0.5 * (cov_s / cov_t + diff.square() / cov_t - 1 +
                      cov_t.log() - cov_s.log()).sum()
    dtype = cov_s.dtype
    chol_t = torch.linalg.cholesky(cov_t.double())
    chol_s = torch.linalg.cholesky(cov_s.double())
    trace = torch.cholesky_solve(cov_s.double(),
                                 chol_t).diagonal().sum()
    maha = torch.cholesky_solve(diff.double()[:, None],
                                chol_t).squeeze(1) @ diff.double()
    logdet_t = 2 * chol_t.diagonal().log().sum()
    logdet_s = 2 * chol_s.diagonal().log().sum()
    kl = 0.5 * (trace + maha - dim + logdet_t - logdet_s)
    return kl.to(dtype)


# ----------------------------------------------------------------------
# maximum mean discrepancy
# ----------------------------------------------------------------------
def mmd_linear(feats_s: Tensor, feats_t: Tensor) -> Tensor:
    """Squared MMD with the linear kernel ``k(a, b) = a . b``.

    The biased (V-statistic) estimate of the public KDDM code,
    ``mean K_ss + mean K_tt - 2 mean K_st``, which equals
    ``||mean(z_s) - mean(z_t)||^2``.

    Args:
        feats_s (torch.Tensor): Student features of shape (n, D).
        feats_t (torch.Tensor): Teacher features of shape (m, D).

    Returns:
        torch.Tensor: The scalar squared MMD.
    """
    _check_feature_pair(feats_s, feats_t)
    if feats_s.shape[0] == 0 or feats_t.shape[0] == 0:
        return graph_zero(feats_s, feats_t)
    return (feats_s.mean(dim=0) - feats_t.mean(dim=0)).square().sum()


def mmd_rbf(feats_s: Tensor,
            feats_t: Tensor,
            sigma: Optional[float] = None) -> Tensor:
    """Squared MMD with the Gaussian kernel ``exp(-|a - b|^2 / 2 sigma^2)``.

    The biased (V-statistic) estimate ``mean K_ss + mean K_tt - 2 mean
    K_st``. With ``sigma=None`` the bandwidth is the public KDDM code's
    heuristic: the mean Euclidean distance over all entries of the three
    distance blocks (ss, tt, st, self-distances included), a constant.

    Args:
        feats_s (torch.Tensor): Student features of shape (n, D).
        feats_t (torch.Tensor): Teacher features of shape (m, D).
        sigma (float, optional): Kernel bandwidth. Defaults to None (the
            heuristic above).

    Returns:
        torch.Tensor: The scalar squared MMD (0 when both batches are the
        same point).
    """
    _check_feature_pair(feats_s, feats_t)
    if sigma is not None:
        check_positive('sigma', sigma)
    if feats_s.shape[0] == 0 or feats_t.shape[0] == 0:
        return graph_zero(feats_s, feats_t)
    d_ss = pairwise_sq_dists(feats_s, feats_s)
    d_tt = pairwise_sq_dists(feats_t, feats_t)
    d_st = pairwise_sq_dists(feats_s, feats_t)
    if sigma is None:
        with torch.no_grad():
            bandwidth = torch.cat(
                [d.flatten().sqrt() for d in (d_ss, d_tt, d_st)]).mean()
    else:
        bandwidth = torch.as_tensor(sigma, dtype=d_ss.dtype)
    denom = (2 * bandwidth.square()).clamp(min=torch.finfo(d_ss.dtype).eps)
    return ((-d_ss / denom).exp().mean() + (-d_tt / denom).exp().mean() -
            2 * (-d_st / denom).exp().mean())


# ----------------------------------------------------------------------
# conditioning and dispatch
# ----------------------------------------------------------------------
def class_conditional(distance: Callable[..., Tensor],
                      feats_s: Tensor,
                      feats_t: Tensor,
                      labels: Tensor,
                      class_reduction: str = 'sum',
                      **kwargs) -> Tensor:
    """Apply a distance between the class-``c`` subsets, for each class.

    Student and teacher features describe the same samples, so one label
    vector selects both subsets.

    Args:
        distance (callable): ``distance(feats_s_c, feats_t_c, **kwargs)``
            returning a scalar.
        feats_s (torch.Tensor): Student features of shape (N, D).
        feats_t (torch.Tensor): Teacher features of shape (N, D).
        labels (torch.Tensor): Class indices (N, ), or scores (N, C)
            reduced with argmax.
        class_reduction (str): ``'sum'`` over the classes present (KDDM) or
            ``'mean'``. Defaults to ``'sum'``.
        **kwargs: Passed to ``distance``.

    Returns:
        torch.Tensor: The scalar combined distance (0 for an empty batch).
    """
    _check_feature_pair(feats_s, feats_t, same_size=True)
    _check_choice('class_reduction', class_reduction, CLASS_REDUCTIONS)
    labels = check_labels(labels, feats_s.shape[0])
    if feats_s.shape[0] == 0:
        return graph_zero(feats_s, feats_t)
    terms = [
        distance(feats_s[labels == c], feats_t[labels == c], **kwargs)
        for c in torch.unique(labels)
    ]
    total = torch.stack(terms).sum()
    return total / len(terms) if class_reduction == 'mean' else total


def kddm_distance(feats_s: Tensor,
                  feats_t: Tensor,
                  labels: Optional[Tensor] = None,
                  logits_s: Optional[Tensor] = None,
                  logits_t: Optional[Tensor] = None,
                  *,
                  metric: str = 'wasserstein',
                  conditional: bool = False,
                  class_reduction: str = 'sum',
                  covariance: str = 'diag',
                  eps: float = 1e-4,
                  shrinkage: float = 0.0,
                  kernel: str = 'linear',
                  sigma: Optional[float] = None,
                  beta: float = 1.0,
                  label_cost: str = 'sqeuclidean') -> Tensor:
    """One KDDM distance ``D(P_S, P_T)``, chosen by ``metric``.

    Args:
        feats_s (torch.Tensor): Student features of shape (N, D).
        feats_t (torch.Tensor): Teacher features of shape (N, D).
        labels (torch.Tensor, optional): Ground-truth classes (N, ); needed
            when ``conditional``. Defaults to None.
        logits_s (torch.Tensor, optional): Student logits (N, K); needed by
            ``'joint_wasserstein'``. Defaults to None.
        logits_t (torch.Tensor, optional): Teacher logits (N, K); needed by
            ``'joint_wasserstein'``. Defaults to None.
        metric (str): One of :data:`KDDM_METRICS`. Defaults to
            ``'wasserstein'``.
        conditional (bool): Sum the distance over the classes of
            ``labels``. Defaults to False.
        class_reduction (str): ``'sum'`` or ``'mean'`` over classes.
            Defaults to ``'sum'``.
        covariance (str): Gaussian metrics: ``'diag'`` or ``'full'``.
            Defaults to ``'diag'``.
        eps (float): Gaussian metrics: variance floor. Defaults to 1e-4.
        shrinkage (float): Gaussian metrics: shrinkage. Defaults to 0.0.
        kernel (str): MMD: ``'linear'`` or ``'rbf'``. Defaults to
            ``'linear'`` (the public code's default).
        sigma (float, optional): RBF bandwidth. Defaults to None (mean
            pairwise distance).
        beta (float): Joint W2: weight of the label cost. Defaults to 1.0.
        label_cost (str): Joint W2: ``'sqeuclidean'`` or ``'kl'``.
            Defaults to ``'sqeuclidean'``.

    Returns:
        torch.Tensor: The scalar distance, float32 at least.
    """
    _check_choice('metric', metric, KDDM_METRICS)
    _check_feature_pair(feats_s, feats_t)
    dtype = compute_dtype(feats_s, feats_t)
    with autocast_disabled(feats_s.device):
        feats_s, feats_t = feats_s.to(dtype), feats_t.to(dtype)
        if metric == 'joint_wasserstein':
            if conditional:
                raise ValueError(
                    "metric='joint_wasserstein' already matches labels; "
                    'use conditional=False')
            if logits_s is None or logits_t is None:
                raise ValueError(
                    "metric='joint_wasserstein' needs the student and "
                    'teacher logits (logits_s, logits_t)')
            return joint_wasserstein(feats_s, feats_t, logits_s.to(dtype),
                                     logits_t.to(dtype), beta, label_cost)
        if metric == 'wasserstein':
            func, kwargs = empirical_wasserstein, {}
        elif metric == 'gaussian_wasserstein':
            func = fitted_gaussian_wasserstein
            kwargs = dict(covariance=covariance, eps=eps,
                          shrinkage=shrinkage)
        elif metric == 'gaussian_kl':
            func = gaussian_kl_divergence
            kwargs = dict(covariance=covariance, eps=eps,
                          shrinkage=shrinkage)
        else:
            _check_choice('kernel', kernel, MMD_KERNELS)
            func = mmd_linear if kernel == 'linear' else mmd_rbf
            kwargs = {} if kernel == 'linear' else dict(sigma=sigma)
        if not conditional:
            return func(feats_s, feats_t, **kwargs)
        if labels is None:
            raise ValueError('conditional=True needs the ground-truth '
                             'labels of the batch')
        return class_conditional(func, feats_s, feats_t, labels,
                                 class_reduction, **kwargs)


@MODELS.register_module()
class KDDMLoss(DistillLoss, nn.Module):
    """KDDM feature distribution matching loss (one registered wrapper).

    ``loss = loss_weight * D(P_S, P_T)`` over the batch of pooled
    penultimate features (the mmpretrain neck output), see
    :func:`kddm_distance`. The table of the KDDM slides maps to:

    ======== ==========================================================
    W2 (E)   ``metric='wasserstein'``
    CW2 (E)  ``metric='wasserstein', conditional=True``
    JW2 (E)  ``metric='joint_wasserstein'``
    W2 (G)   ``metric='gaussian_wasserstein'``
    CW2 (G)  ``metric='gaussian_wasserstein', conditional=True``
    KL (G)   ``metric='gaussian_kl'``
    MMD      ``metric='mmd', kernel='linear' | 'rbf'``
    ======== ==========================================================

    The loss is a distance between two sets, not a per-sample loss, so it
    has no ``weight``/``reduction``; the per-class terms of a conditional
    metric are combined by ``class_reduction``.

    Args:
        metric (str): One of :data:`KDDM_METRICS`. Defaults to
            ``'wasserstein'``.
        conditional (bool): Match class-conditional distributions.
            Defaults to False.
        class_reduction (str): ``'sum'`` (KDDM) or ``'mean'`` over the
            classes present. Defaults to ``'sum'``.
        covariance (str): Gaussian metrics: ``'diag'`` or ``'full'``.
            Defaults to ``'diag'``.
        eps (float): Gaussian metrics: variance floor. Defaults to 1e-4.
        shrinkage (float): Gaussian metrics: shrinkage towards the scaled
            identity (use e.g. 0.1 with ``'full'`` when N < D).
            Defaults to 0.0.
        kernel (str): MMD kernel, ``'linear'`` or ``'rbf'``. Defaults to
            ``'linear'``.
        sigma (float, optional): RBF bandwidth. Defaults to None (mean
            pairwise distance of the batch).
        beta (float): Joint W2 label-cost weight. Defaults to 1.0.
        label_cost (str): Joint W2 label cost, ``'sqeuclidean'`` (on the
            logits) or ``'kl'``. Defaults to ``'sqeuclidean'``.
        detach_teacher (bool): Stop gradients into the teacher features
            and logits. Defaults to True.
        loss_weight (float): lambda, the weight of the loss. Defaults to
            1.0.
    """

    accepts_labels = True

    def __init__(self,
                 metric: str = 'wasserstein',
                 conditional: bool = False,
                 class_reduction: str = 'sum',
                 covariance: str = 'diag',
                 eps: float = 1e-4,
                 shrinkage: float = 0.0,
                 kernel: str = 'linear',
                 sigma: Optional[float] = None,
                 beta: float = 1.0,
                 label_cost: str = 'sqeuclidean',
                 detach_teacher: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        _check_choice('metric', metric, KDDM_METRICS)
        _check_choice('class_reduction', class_reduction, CLASS_REDUCTIONS)
        check_covariance(covariance)
        _check_choice('kernel', kernel, MMD_KERNELS)
        _check_choice('label_cost', label_cost, LABEL_COSTS)
        _check_non_negative('eps', eps)
        _check_non_negative('beta', beta)
        _check_non_negative('loss_weight', loss_weight)
        if not (isinstance(shrinkage, (int, float)) and 0 <= shrinkage <= 1):
            raise ValueError(
                f'shrinkage must lie in [0, 1], got {shrinkage!r}')
        if sigma is not None:
            check_positive('sigma', sigma)
        if metric == 'gaussian_kl' and eps == 0 and shrinkage == 0:
            raise ValueError(
                "metric='gaussian_kl' with eps=0 and shrinkage=0 divides "
                'by zero variances (dead channels, singleton classes); '
                'set eps > 0 (e.g. 1e-4)')
        if metric == 'joint_wasserstein' and conditional:
            raise ValueError(
                "metric='joint_wasserstein' already matches labels; use "
                'conditional=False')
        self.metric = metric
        self.conditional = bool(conditional)
        self.class_reduction = class_reduction
        self.covariance = covariance
        self.eps = eps
        self.shrinkage = shrinkage
        self.kernel = kernel
        self.sigma = sigma
        self.beta = beta
        self.label_cost = label_cost
        self.detach_teacher = bool(detach_teacher)
        self.loss_weight = loss_weight

    @property
    def requires_labels(self) -> bool:
        """Whether ``forward`` needs the batch's labels (conditional
        metrics); a distiller passes them only then."""
        return self.conditional

    @property
    def requires_logits(self) -> bool:
        """Whether ``forward`` needs the student and teacher logits (the
        joint feature-label W2)."""
        return self.metric == 'joint_wasserstein'

    def forward(self,
                feats_s: Tensor,
                feats_t: Tensor,
                labels: Optional[Tensor] = None,
                logits_s: Optional[Tensor] = None,
                logits_t: Optional[Tensor] = None) -> Tensor:
        """Compute the weighted distance.

        Args:
            feats_s (torch.Tensor): Student features of shape (N, D).
            feats_t (torch.Tensor): Teacher features of shape (N, D), the
                same images.
            labels (torch.Tensor, optional): Classes (N, ) (or scores
                (N, C)); needed when ``conditional``. Defaults to None.
            logits_s (torch.Tensor, optional): Student logits (N, K); needed
                by ``'joint_wasserstein'``. Defaults to None.
            logits_t (torch.Tensor, optional): Teacher logits (N, K).
                Defaults to None.

        Returns:
            torch.Tensor: The scalar loss.
        """
        if self.detach_teacher:
            if isinstance(feats_t, Tensor):
                feats_t = feats_t.detach()
            if logits_t is not None:
                logits_t = logits_t.detach()
        return self.loss_weight * kddm_distance(
            feats_s,
            feats_t,
            labels,
            logits_s,
            logits_t,
            metric=self.metric,
            conditional=self.conditional,
            class_reduction=self.class_reduction,
            covariance=self.covariance,
            eps=self.eps,
            shrinkage=self.shrinkage,
            kernel=self.kernel,
            sigma=self.sigma,
            beta=self.beta,
            label_cost=self.label_cost)

    def extra_repr(self) -> str:
        return (f'metric={self.metric!r}, conditional={self.conditional}, '
                f'loss_weight={self.loss_weight}')
