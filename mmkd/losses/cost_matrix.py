# Copyright (c) OpenMMLab. All rights reserved.
"""Category-interrelation (IR) cost matrices for WKD-L.

The paper's cost is ``C_ij = 1 - exp(-kappa * (1 - IR(i, j)))`` with IR the
linear CKA between the teacher features of classes i and j
(:func:`cka_cost_matrix`). The ablation's alternatives are selectable too:
cosine similarity of class centroids (:func:`class_centroid_cosine`) or of
classifier weight rows (:func:`classifier_weight_cosine`), turned into a
cost by :func:`cost_matrix_from_similarity`. The official released files
hold ``1 - CKA``; :func:`sharpen_cost` applies the kappa sharpening to them.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from .utils import check_positive, shape_str


def _check_square(name: str, matrix: Tensor) -> None:
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f'{name} must be a square [n, n] matrix, got '
                         f'shape {shape_str(matrix.shape)}')


def _centred_gram(x: Tensor) -> Tensor:
    """Gram matrices of column-centred features: (..., b, d) -> (..., b, b).
    """
    x = x - x.mean(dim=-2, keepdim=True)
    return x @ x.transpose(-1, -2)


def _float(x: Tensor) -> Tensor:
    return x if x.dtype == torch.float64 else x.float()


def linear_cka(x: Tensor, y: Tensor) -> Tensor:
    """Linear CKA between two feature sets whose rows are paired samples.

    ``CKA(X, Y) = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` with
    columns centred over the rows. Invariant to orthogonal transforms and
    isotropic scaling of either set. Leading batch dimensions broadcast.

    Args:
        x (torch.Tensor): Features of shape (..., b, d1).
        y (torch.Tensor): Features of shape (..., b, d2), row i paired with
            row i of ``x``.

    Returns:
        torch.Tensor: CKA in [0, 1], shape (..., ). 0 where a set has no
        variance.
    """
    if x.dim() < 2 or y.dim() < 2 or x.shape[-2] != y.shape[-2]:
        raise ValueError('x and y must have shapes (..., b, d1) and '
                         '(..., b, d2) with the same number of rows b, got '
                         f'{shape_str(x.shape)} and {shape_str(y.shape)}')
    x, y = _float(x), _float(y)
    x = x - x.mean(dim=-2, keepdim=True)
    y = y - y.mean(dim=-2, keepdim=True)
    if x.shape[-2]**2 <= x.shape[-1] * y.shape[-1]:
        gram_x = x @ x.transpose(-1, -2)
        gram_y = y @ y.transpose(-1, -2)
        hsic = (gram_x * gram_y).sum(dim=(-2, -1))
        norm_x = torch.linalg.matrix_norm(gram_x)
        norm_y = torch.linalg.matrix_norm(gram_y)
    else:
        hsic = (y.transpose(-1, -2) @ x).square().sum(dim=(-2, -1))
        norm_x = torch.linalg.matrix_norm(x.transpose(-1, -2) @ x)
        norm_y = torch.linalg.matrix_norm(y.transpose(-1, -2) @ y)
    tiny = torch.finfo(hsic.dtype).tiny
    return hsic / (norm_x * norm_y).clamp(min=tiny)


#: Up to this many rows per class, the Gram matrices (b x b) are used; with
#: more (every position of CIFAR feature maps: 500 x 64 rows per class) the
#: (d x d) cross products, which never form a b x b matrix.
_GRAM_ROWS = 4096


def _feature_space_hsic(x: Tensor) -> Tensor:
    """``||Xc_j^T Xc_i||_F^2`` of every class pair, (n, n), from the
    ``(d x d)`` cross products: one centred class at a time (centring one
    side is enough, ``Xc_i^T 1 = 0``), so memory stays O(n d^2 + b d)."""
    n = x.shape[0]
    inner = x.new_zeros(n, n)
    for i in range(n):
        xi = x[i] - x[i].mean(dim=0, keepdim=True)
        inner[i, i:] = torch.matmul(xi.t(), x[i:]).square().sum(dim=(1, 2))
    return torch.triu(inner) + torch.triu(inner, diagonal=1).t()


def cka_similarity_matrix(class_features: Tensor) -> Tensor:
    """Pairwise linear CKA between classes, with batched Gram matrices.

    With up to 4096 rows per class, memory is O(n b^2) for the flattened
    Gram matrices and time is dominated by one (n x b^2) @ (b^2 x n)
    matmul; with more rows (CIFAR feature maps) the (d x d) cross products
    of each class pair are used instead, O(n d^2 + b d) memory.

    Args:
        class_features (torch.Tensor): Features of shape (n, b, d): b
            samples (rows, paired by index across classes; truncate all
            classes to the smallest count) of d features for each of n
            classes.

    Returns:
        torch.Tensor: IR matrix (n, n) with CKA(i, j), symmetric, ones on
        the diagonal (0 for a class without variance).
    """
    if class_features.dim() != 3:
        raise ValueError('class_features must have shape (n_classes, b, d), '
                         f'got {shape_str(class_features.shape)}')
    x = _float(class_features)
    n, b, d = x.shape
    if b * b <= max(d * d, _GRAM_ROWS**2):
        grams = _centred_gram(x).flatten(1)
        norms = grams.norm(dim=1)
        inner = grams @ grams.t()
    else:
        inner = _feature_space_hsic(x)
        norms = inner.diagonal().sqrt()
    tiny = torch.finfo(inner.dtype).tiny
    sim = inner / (norms[:, None] * norms[None, :]).clamp(min=tiny)
    sim = (sim + sim.t()) / 2
    sim.diagonal().copy_((norms > 0).to(sim.dtype))
    return sim


def sharpen_cost(one_minus_ir: Tensor, kappa: float = 1.0) -> Tensor:
    """Sharpen a ``1 - IR`` matrix into the WKD cost ``1 - exp(-kappa M)``.

    Apply this to the official released ``*_linear_cka.pth`` files, which
    hold ``M = 1 - CKA``. The result is symmetrised, clamped at 0 (so
    slightly negative ``M`` from rounding gives 0) and has a zero diagonal.

    Args:
        one_minus_ir (torch.Tensor): Matrix ``1 - IR`` of shape (n, n).
        kappa (float): Sharpening; the official code uses 1, or 2 for
            R50 -> MobileNetV1. Defaults to 1.0.

    Returns:
        torch.Tensor: The cost matrix (n, n), values in [0, 1).
    """
    _check_square('one_minus_ir', one_minus_ir)
    check_positive('kappa', kappa)
    m = _float(one_minus_ir)
    m = ((m + m.t()) / 2).clamp(min=0)
    cost = -torch.expm1(-kappa * m)
    cost.fill_diagonal_(0)
    return cost


def cost_matrix_from_similarity(sim: Tensor, kappa: float = 1.0) -> Tensor:
    """Turn a class similarity (IR) matrix into ``1 - exp(-kappa (1 - IR))``.

    Args:
        sim (torch.Tensor): Similarity of shape (n, n), at most 1 (CKA in
            [0, 1], cosine in [-1, 1]).
        kappa (float): Sharpening. Defaults to 1.0.

    Returns:
        torch.Tensor: Symmetric cost (n, n), zero diagonal.
    """
    _check_square('sim', sim)
    return sharpen_cost(1 - _float(sim), kappa)


def cka_cost_matrix(class_features: Tensor, *, kappa: float = 1.0) -> Tensor:
    """WKD cost from the linear CKA between classes (the paper's choice).

    Args:
        class_features (torch.Tensor): Teacher features (n, b, d), see
            :func:`cka_similarity_matrix`.
        kappa (float): Sharpening. Defaults to 1.0.

    Returns:
        torch.Tensor: Cost ``1 - exp(-kappa * (1 - CKA))``, shape (n, n),
        symmetric, zero diagonal.
    """
    return cost_matrix_from_similarity(
        cka_similarity_matrix(class_features), kappa=kappa)


def _cosine_matrix(vectors: Tensor) -> Tensor:
    unit = F.normalize(_float(vectors), dim=1)
    sim = (unit @ unit.t()).clamp(-1, 1)
    return (sim + sim.t()) / 2


def class_centroid_cosine(class_features: Tensor) -> Tensor:
    """Cosine similarity of class centroids (an ablation alternative).

    Args:
        class_features (torch.Tensor): Per-class features (n, b, d), whose
            mean over b is the centroid, or the centroids (n, d).

    Returns:
        torch.Tensor: Similarity (n, n) in [-1, 1].
    """
    if class_features.dim() == 3:
        class_features = _float(class_features).mean(dim=1)
    if class_features.dim() != 2:
        raise ValueError('class_features must have shape (n, b, d) or '
                         f'(n, d), got {shape_str(class_features.shape)}')
    return _cosine_matrix(class_features)


def classifier_weight_cosine(weight: Tensor) -> Tensor:
    """Cosine similarity of classifier weight rows (an ablation alternative).

    Args:
        weight (torch.Tensor): Classifier weight (n, d), one row per class
            (for mmdet's ``fc_cls`` the last row is the background).

    Returns:
        torch.Tensor: Similarity (n, n) in [-1, 1].
    """
    if weight.dim() != 2:
        raise ValueError('weight must have shape (n_classes, d), got '
                         f'{shape_str(weight.shape)}')
    return _cosine_matrix(weight.detach())
