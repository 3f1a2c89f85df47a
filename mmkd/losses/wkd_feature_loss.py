# Copyright (c) OpenMMLab. All rights reserved.
"""WKD-F: Gaussian Wasserstein feature distillation (Lv et al., 2024)."""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from mmkd.registry import MODELS
from mmkd.utils.checks import check_choice, check_int
from .contract import DistillLoss
from .gaussian_wasserstein import check_covariance, gaussian_wasserstein_terms
from .utils import (autocast_disabled, check_reduction, compute_dtype,
                    shape_str, weight_reduce_loss)

#: Cells per axis, (G_h, G_w).
Grid = Tuple[int, int]
#: How both maps are standardised before the Gaussians.
NORMALIZATIONS = ('none', 'channel')


def grid_cell_bounds(size: int, grid: int) -> Tuple[list, list]:
    """Adaptive-pooling cell boundaries along one axis.

    Cell ``i`` covers ``[floor(i * size / grid), ceil((i + 1) * size /
    grid))``; neighbouring cells may overlap.

    Args:
        size (int): Length of the axis.
        grid (int): Number of cells.

    Returns:
        tuple[list[int], list[int]]: Start and (exclusive) end of each cell.
    """
    starts = [(i * size) // grid for i in range(grid)]
    ends = [-((-(i + 1) * size) // grid) for i in range(grid)]
    return starts, ends


def _axis_index(size: int, grid: int,
                device: torch.device) -> Tuple[Tensor, Tensor]:
    """Padded position index (grid, k) and validity mask of each cell."""
    starts, ends = grid_cell_bounds(size, grid)
    width = max(e - s for s, e in zip(starts, ends))
    offsets = torch.arange(width, device=device)
    start = torch.tensor(starts, device=device)[:, None]
    end = torch.tensor(ends, device=device)[:, None]
    index = start + offsets
    return index.clamp(max=size - 1), index < end


def _grid_cells(feat: Tensor, grid: Grid) -> Tuple[Tensor, Tensor]:
    """Gather the G_h x G_w cells of (B, C, H, W) maps into a padded tensor.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: Cell values (B, G_h*G_w, C, L)
        with L the largest cell size (padding repeats valid positions) and
        the validity mask (G_h*G_w, L).
    """
    num, channels, height, width = feat.shape
    index_h, valid_h = _axis_index(height, grid[0], feat.device)
    index_w, valid_w = _axis_index(width, grid[1], feat.device)
    # (B, C, G, kh, W) -> (B, C, G, kh, G, kw)
    cells = feat[:, :, index_h][..., index_w]
    cells = cells.permute(0, 2, 4, 1, 3, 5)  # (B, G, G, C, kh, kw)
    cells = cells.reshape(num, grid[0] * grid[1], channels,
                          index_h.shape[1] * index_w.shape[1])
    valid = valid_h[:, None, :, None] & valid_w[None, :, None, :]
    return cells, valid.reshape(grid[0] * grid[1], -1)


def _cell_membership(size: int, grid: int, like: Tensor) -> Tensor:
    """0/1 matrix (grid, size): which positions each cell covers."""
    starts, ends = grid_cell_bounds(size, grid)
    pos = torch.arange(size, device=like.device)
    start = torch.tensor(starts, device=like.device)[:, None]
    end = torch.tensor(ends, device=like.device)[:, None]
    return ((pos >= start) & (pos < end)).to(like.dtype)


def _cell_membership_2d(height: int, width: int, grid: Grid,
                        like: Tensor) -> Tensor:
    """0/1 matrix (H*W, G_h*G_w): which positions each cell covers."""
    rows = _cell_membership(height, grid[0], like)  # (G_h, H)
    cols = _cell_membership(width, grid[1], like)  # (G_w, W)
    return (rows.t()[:, None, :, None] * cols.t()[None, :, None, :]).reshape(
        height * width, grid[0] * grid[1])


class _CellMomentsDiag(torch.autograd.Function):
    """Per-cell channel means and unbiased variances of (B, C, H, W) maps.

    The cell sums of ``x`` and ``x^2`` are one GEMM each with the 0/1
    membership matrix (H*W, G*G), so overlapping cells are never gathered
    and the maps are read a few times in all (the term is memory-bound).
    Each (image, channel) map is first shifted by its own mean, which leaves
    the variance unchanged and keeps ``E[x^2] - E[x]^2`` free of
    cancellation. The backward is the closed form, ``d mean_c / d x_p =
    [p in c] / n_c`` and ``d var_c / d x_p = 2 (x_p - mean_c) [p in c] /
    (n_c - 1)``, two GEMMs with the transposed membership.
    """

    @staticmethod
    def forward(ctx, feat: Tensor,
                member: Tensor) -> Tuple[Tensor, Tensor]:  # type: ignore
        num, channels, height, width = feat.shape
        count = member.sum(0)  # (G*G, )
        x = feat.reshape(num * channels, height * width)
        shift = x.mean(dim=1, keepdim=True)
        centred = x - shift
        sum_x = centred @ member
        keep = ctx.needs_input_grad[0]
        # Without a gradient (the teacher) the squares overwrite the
        # centred maps: one map-sized tensor less at the step's peak.
        sum_sq = (centred.square() if keep else centred.square_()) @ member
        mean_c = sum_x / count  # the cell means minus the shift
        var = (sum_sq - sum_x * mean_c).clamp_(min=0) / (count - 1)
        if keep:
            ctx.save_for_backward(centred, mean_c, member, count)
        ctx.shape = feat.shape
        cells = member.shape[1]
        return ((mean_c + shift).view(num, channels, cells),
                var.view(num, channels, cells))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_mean: Tensor,
                 grad_var: Tensor) -> Tuple[Tensor, None]:  # type: ignore
        centred, mean_c, member, count = ctx.saved_tensors
        rows = centred.shape[0]
        # d/dx_p = sum over the cells c holding p of
        #   grad_mean_c / n_c + b_c (x_p - mean_c),
        # b_c = 2 grad_var_c / (n_c - 1), x_p - mean_c = centred_p - mean_c
        # (the shift cancels).
        cells = member.shape[1]
        b = grad_var.reshape(rows, cells) * (2 / (count - 1))
        a = grad_mean.reshape(rows, cells) / count - b * mean_c
        grad = (a @ member.t()).addcmul_(centred, b @ member.t())
        return grad.view(ctx.shape), None


#: Above this many cells per map the moments are gathered cell by cell:
#: the membership GEMM costs O(H W G_h G_w) per map, quadratic in the map's
#: size for cells of a fixed size (a 160 x 160 FPN level in 2 x 2-position
#: cells: a 25600 x 6400 membership matrix), the gather O(H W).
GEMM_MAX_CELLS = 16


def _cell_moments_gathered(feat: Tensor,
                           grid: Grid) -> Tuple[Tensor, Tensor]:
    """Per-cell channel means and unbiased variances (B, C, G_h*G_w) of
    maps cut into many small cells: average pooling when equal cells tile
    the map, else each cell's positions gathered (a position is read once per cell
    holding it, a few times at most); two-pass moments, differentiated by
    autograd."""
    num, channels, height, width = feat.shape
    cells_total = grid[0] * grid[1]
    if height % grid[0] == 0 and width % grid[1] == 0:
        # equal cells that tile the map: pooling, no gather (torch's
        # var_mean over the cell axes of a 6-d view is ~20x slower)
        size = (height // grid[0], width // grid[1])
        mean = F.avg_pool2d(feat, size)
        dev = (feat.reshape(num, channels, grid[0], size[0], grid[1],
                            size[1]) - mean[:, :, :, None, :, None])
        n = size[0] * size[1]
        var = F.avg_pool2d(dev.square().reshape(feat.shape),
                           size) * (n / (n - 1))
        return (mean.reshape(num, channels, cells_total),
                var.reshape(num, channels, cells_total))
    index_h, valid_h = _axis_index(height, grid[0], feat.device)
    index_w, valid_w = _axis_index(width, grid[1], feat.device)
    # (B, C, G_h, k_h, W) -> (B, C, G_h, k_h, G_w, k_w)
    cells = feat[:, :, index_h][..., index_w]
    valid = (valid_h[:, :, None, None]
             & valid_w[None, None]).to(feat.dtype)  # (G_h, k_h, G_w, k_w)
    count = valid.sum(dim=(1, 3))  # (G_h, G_w)
    mean = (cells * valid).sum(dim=(3, 5)) / count
    dev = (cells - mean[:, :, :, None, :, None]) * valid
    var = dev.square().sum(dim=(3, 5)) / (count - 1)
    return (mean.reshape(num, channels, cells_total),
            var.reshape(num, channels, cells_total))


def _cell_moments_diag(feat: Tensor, grid: Grid,
                       eps: float) -> Tuple[Tensor, Tensor]:
    """Per-cell channel means and unbiased variances + eps, (B, G*G, C)
    (transposed views of (B, C, G*G): :class:`_CellMomentsDiag`'s for a few
    cells, gathered for many)."""
    height, width = feat.shape[-2:]
    if grid[0] * grid[1] > GEMM_MAX_CELLS:
        mean, var = _cell_moments_gathered(feat, grid)
    else:
        member = _cell_membership_2d(height, width, grid, feat)
        mean, var = _CellMomentsDiag.apply(feat, member)
    return mean.transpose(1, 2), (var + eps).transpose(1, 2)


def _cell_statistics(feat: Tensor, grid: Grid, eps: float,
                     covariance: str) -> Tuple[Tensor, Tensor]:
    """Per-cell channel means (B, G*G, C) and variances / covariances."""
    if covariance == 'diag':
        return _cell_moments_diag(feat, grid, eps)
    cells, valid = _grid_cells(feat, grid)
    valid = valid.to(cells.dtype)
    count = valid.sum(dim=-1)[:, None]  # (G*G, 1)
    mean = (cells * valid[:, None, :]).sum(dim=-1) / count
    centred = (cells - mean[..., None]) * valid[:, None, :]
    cov = centred @ centred.transpose(-1, -2) / (count - 1)[..., None]
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
    return mean, cov + eps * eye


def _check_feature_inputs(student_feat: Tensor, teacher_feat: Tensor,
                          grid: int, cell_size: Optional[int] = None
                          ) -> Tuple[Tensor, Tensor, Grid]:
    """Validated (B, C, H, W) inputs and the cells per axis: ``grid`` x
    ``grid``, or with ``cell_size`` about ``H / cell_size`` x ``W /
    cell_size`` (at least 1)."""
    if student_feat.shape != teacher_feat.shape:
        raise ValueError(
            f'student_feat has shape {shape_str(student_feat.shape)} but '
            f'teacher_feat has shape {shape_str(teacher_feat.shape)}; add '
            'a connector/projector (e.g. a 1x1 conv + BN, or the bottleneck '
            "projector) mapping the student to the teacher's channels, and "
            "resize it to the teacher's spatial size")
    if student_feat.dim() not in (3, 4):
        raise ValueError('features must have shape [B, C, H, W] (maps) or '
                         '[B, C, K] (point sets), got '
                         f'{shape_str(student_feat.shape)}')
    check_int('grid', grid)
    if student_feat.dim() == 3:
        if grid != 1 or cell_size is not None:
            raise ValueError(
                f'grid={grid} / cell_size={cell_size} need [B, C, H, W] '
                f'maps; [B, C, K] point sets ({shape_str(student_feat.shape)}'
                ') are one cell, use grid=1')
        student_feat = student_feat[..., None]
        teacher_feat = teacher_feat[..., None]
    height, width = student_feat.shape[-2:]
    cells = (grid, grid) if cell_size is None else (max(
        1, height // cell_size), max(1, width // cell_size))
    smallest = (
        min(e - s for s, e in zip(*grid_cell_bounds(height, cells[0]))) *
        min(e - s for s, e in zip(*grid_cell_bounds(width, cells[1]))))
    if smallest < 2:
        what = f'grid={grid}' if cell_size is None else (
            f'cell_size={cell_size} ({cells[0]}x{cells[1]} cells)')
        raise ValueError(
            f'{what} on a {height}x{width} map gives cells of {smallest} '
            'position(s); the unbiased variance needs at least 2 positions '
            'per cell, use a smaller grid or a larger cell_size')
    return student_feat, teacher_feat, cells


def _standardised(feat: Tensor, eps: float) -> Tensor:
    """Each (image, channel) map with zero mean and unit variance over its
    positions (PKD's normalisation), so no level or channel dominates."""
    centred = feat - feat.mean(dim=(-2, -1), keepdim=True)
    # the biased variance of the centred map (cheaper than Tensor.var)
    var = centred.square().mean(dim=(-2, -1), keepdim=True)
    return centred * torch.rsqrt(var + eps)


def _wkd_feature_loss_per_image(student_feat: Tensor,
                                teacher_feat: Tensor,
                                grid: Grid,
                                eps: float,
                                mean_cov_ratio: float,
                                covariance: str,
                                normalize: str = 'none') -> Tensor:
    """Per-image WKD-F loss, averaged over cells; inputs validated. (B, )."""
    dtype = compute_dtype(student_feat, teacher_feat)
    with autocast_disabled(student_feat.device):
        student = student_feat.to(dtype)
        teacher = teacher_feat.detach().to(dtype)
        if normalize == 'channel':
            student, teacher = (_standardised(student, eps),
                                _standardised(teacher, eps))
        mean_s, cov_s = _cell_statistics(student, grid, eps, covariance)
        mean_t, cov_t = _cell_statistics(teacher, grid, eps, covariance)
        mean_term, cov_term = gaussian_wasserstein_terms(
            mean_s, cov_s, mean_t, cov_t, covariance=covariance)
        return (mean_cov_ratio * mean_term + cov_term).mean(dim=1)


def _check_feature_hparams(eps: float, mean_cov_ratio: float,
                           covariance: str) -> None:
    check_covariance(covariance)
    if not (eps >= 0 and math.isfinite(eps)):
        raise ValueError(f'eps must be a finite number >= 0, got {eps!r}')
    if not (mean_cov_ratio >= 0 and math.isfinite(mean_cov_ratio)):
        raise ValueError('mean_cov_ratio must be a finite number >= 0, got '
                         f'{mean_cov_ratio!r}')


def wkd_feature_loss(student_feat: Tensor,
                     teacher_feat: Tensor,
                     *,
                     grid: int = 1,
                     eps: float = 1e-5,
                     mean_cov_ratio: float = 2.0,
                     covariance: str = 'diag') -> Tensor:
    """WKD-F loss: Gaussian W2 between student and teacher feature maps.

    Each map is split into ``grid x grid`` cells with adaptive-pooling
    boundaries (see :func:`grid_cell_bounds`); in each cell the positions
    are samples of a Gaussian over the C channels, with the channel means
    and the unbiased (divide by m - 1) channel (co)variances plus ``eps``.
    The loss is ``mean_cov_ratio * mean_term + cov_term``, each term summed
    over channels and averaged over images and cells:

    * ``mean_term = ||mu_s - mu_t||^2``;
    * ``'diag'``: ``cov_term = ||sigma_s - sigma_t||^2`` with
      ``sigma = sqrt(var + eps)`` (the paper's main variant and the only
      one of the official code);
    * ``'full'``: the Bures term of :func:`gaussian_wasserstein` with
      covariances ``Sigma + eps I`` (float64 eigh; O(C^3) per cell).

    The teacher is detached; computed in float32 (float64 if an input is
    float64) with autocast disabled.

    Args:
        student_feat (torch.Tensor): Student maps (B, C, H, W) or point
            sets (B, C, K), already projected to the teacher's shape.
        teacher_feat (torch.Tensor): Teacher features, same shape.
        grid (int): Cells per side; 1 for [B, C, K]. Defaults to 1.
        eps (float): Variance floor. Defaults to 1e-5.
        mean_cov_ratio (float): Weight gamma of the mean term.
            Defaults to 2.0.
        covariance (str): ``'diag'`` or ``'full'``. Defaults to ``'diag'``.

    Returns:
        torch.Tensor: The scalar loss.
    """
    _check_feature_hparams(eps, mean_cov_ratio, covariance)
    student_feat, teacher_feat, cells = _check_feature_inputs(
        student_feat, teacher_feat, grid)
    return weight_reduce_loss(
        _wkd_feature_loss_per_image(student_feat, teacher_feat, cells, eps,
                                    mean_cov_ratio, covariance))


@MODELS.register_module()
class WKDFeatureLoss(DistillLoss, nn.Module):
    """WKD-F loss module (see :func:`wkd_feature_loss`).

    Args:
        grid (int): Cells per side. Defaults to 1.
        eps (float): Variance floor. Defaults to 1e-5.
        mean_cov_ratio (float): Weight gamma of the mean term.
            Defaults to 2.0.
        covariance (str): ``'diag'`` or ``'full'``. Defaults to ``'diag'``.
        cell_size (int, optional): Instead of a fixed ``grid``, cells of
            about ``cell_size x cell_size`` positions on every map (``H //
            cell_size`` cells down, ``W // cell_size`` across, at least
            one), so the cells of every FPN level cover the same number of
            positions. Defaults to None (``grid``).
        normalize (str): ``'none'`` or ``'channel'``: standardise each
            (image, channel) map of both sides over its positions first
            (as PKD), so one high-magnitude level or channel does not
            dominate; the whole-map statistics are then 0 and 1, so it
            needs more than one cell. Defaults to ``'none'``.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over images.
            Defaults to ``'mean'``.
        loss_weight (float): Weight w_F of the loss (a hook may schedule
            it). Defaults to 1.0.
    """

    accepts_weight = True

    def __init__(self,
                 grid: int = 1,
                 eps: float = 1e-5,
                 mean_cov_ratio: float = 2.0,
                 covariance: str = 'diag',
                 cell_size: Optional[int] = None,
                 normalize: str = 'none',
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        _check_feature_hparams(eps, mean_cov_ratio, covariance)
        check_int('grid', grid)
        check_int('cell_size', cell_size, minimum=2, allow_none=True)
        check_choice('normalize', normalize, NORMALIZATIONS)
        if normalize != 'none' and grid == 1 and cell_size is None:
            raise ValueError(
                f"normalize={normalize!r} makes every whole-map mean 0 and "
                'std 1, so one cell compares nothing; set grid > 1 or '
                'cell_size.')
        check_reduction(reduction)
        self.grid = grid
        self.cell_size = cell_size
        self.normalize = normalize
        self.eps = eps
        self.mean_cov_ratio = mean_cov_ratio
        self.covariance = covariance
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                student_feat: Tensor,
                teacher_feat: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the weighted WKD-F loss.

        Args:
            student_feat (torch.Tensor): (B, C, H, W) or (B, C, K).
            teacher_feat (torch.Tensor): Same shape; detached.
            weight (torch.Tensor, optional): Per-image weight (B, ).
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
        student_feat, teacher_feat, cells = _check_feature_inputs(
            student_feat, teacher_feat, self.grid, self.cell_size)
        loss = _wkd_feature_loss_per_image(student_feat, teacher_feat,
                                           cells, self.eps,
                                           self.mean_cov_ratio,
                                           self.covariance, self.normalize)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction,
                                                     avg_factor)
