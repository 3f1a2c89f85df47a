# Copyright (c) OpenMMLab. All rights reserved.
"""Tests of WKD-F against a Python loop over images and grid cells."""
import math

import ot
import pytest
import torch
import torch.nn.functional as F

from mmkd.losses import WKDFeatureLoss, grid_cell_bounds, wkd_feature_loss
from mmkd.registry import MODELS


def loop_wkd_feature(student, teacher, grid, eps=1e-5, ratio=2.0,
                     covariance='diag'):
    """Per image, per cell, with the adaptive-pooling formula spelled out."""
    num, channels, height, width = student.shape
    total, cells = 0., 0
    for b in range(num):
        for i in range(grid):
            for j in range(grid):
                h0 = math.floor(i * height / grid)
                h1 = math.ceil((i + 1) * height / grid)
                w0 = math.floor(j * width / grid)
                w1 = math.ceil((j + 1) * width / grid)
                xs = student[b, :, h0:h1, w0:w1].reshape(channels, -1)
                xt = teacher[b, :, h0:h1, w0:w1].reshape(channels, -1)
                mean_term = (xs.mean(1) - xt.mean(1)).pow(2).sum()
                if covariance == 'diag':
                    cov_term = ((xs.var(1) + eps).sqrt() -
                                (xt.var(1) + eps).sqrt()).pow(2).sum()
                else:
                    eye = eps * torch.eye(channels, dtype=xs.dtype)
                    w = ot.gaussian.bures_wasserstein_distance(
                        xs.mean(1), xt.mean(1),
                        torch.cov(xs) + eye, torch.cov(xt) + eye)
                    cov_term = w.reshape(())**2 - mean_term
                total = total + ratio * mean_term + cov_term
                cells += 1
    return total / cells


@pytest.mark.parametrize('height,width,grid', [(7, 7, 4), (5, 9, 2),
                                               (6, 6, 1), (3, 3, 2),
                                               (8, 5, 3)])
def test_diag_matches_loop(height, width, grid):
    gen = torch.Generator().manual_seed(height * 10 + width)
    student = torch.randn(2, 3, height, width, generator=gen,
                          dtype=torch.float64)
    teacher = torch.randn(2, 3, height, width, generator=gen,
                          dtype=torch.float64) * 2 + 1
    ours = wkd_feature_loss(student, teacher, grid=grid, mean_cov_ratio=3.0)
    ref = loop_wkd_feature(student, teacher, grid, ratio=3.0)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('height,width,grid', [(7, 7, 4), (5, 9, 2),
                                               (8, 5, 3)])
def test_diag_gradient_matches_loop(height, width, grid):
    """The cell moments have a hand-written backward: its gradient equals
    autograd's through the loop, and passes gradcheck."""
    gen = torch.Generator().manual_seed(height + width)
    student = torch.randn(2, 3, height, width, generator=gen,
                          dtype=torch.float64) + 5
    teacher = torch.randn(2, 3, height, width, generator=gen,
                          dtype=torch.float64) * 2 + 1
    ours = student.clone().requires_grad_()
    ref = student.clone().requires_grad_()
    wkd_feature_loss(ours, teacher, grid=grid).backward()
    loop_wkd_feature(ref, teacher, grid).backward()
    torch.testing.assert_close(ours.grad, ref.grad, rtol=1e-10, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda s: wkd_feature_loss(s, teacher, grid=grid),
        (student.clone().requires_grad_(), ))


def test_diag_float32_large_offset_no_cancellation():
    """Cell variances come from sums of squares: a large common offset with
    a tiny spread must not cancel in float32."""
    gen = torch.Generator().manual_seed(3)
    base = torch.randn(2, 4, 7, 7, generator=gen, dtype=torch.float64)
    student = 100 + 0.01 * base
    teacher = 100.5 + 0.02 * torch.randn(
        2, 4, 7, 7, generator=gen, dtype=torch.float64)
    # Covariance term only (the mean term would hide a variance error).
    ref = loop_wkd_feature(student, teacher, 4, ratio=0.0)
    ours = wkd_feature_loss(student.float(), teacher.float(), grid=4,
                            mean_cov_ratio=0.0)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours.double(), ref, rtol=1e-3, atol=0)


@pytest.mark.parametrize('height,width,grid', [(7, 7, 4), (5, 9, 2)])
def test_full_matches_loop_with_pot(height, width, grid):
    gen = torch.Generator().manual_seed(1)
    student = torch.randn(2, 3, height, width, generator=gen,
                          dtype=torch.float64)
    teacher = torch.randn(2, 3, height, width, generator=gen,
                          dtype=torch.float64)
    ours = wkd_feature_loss(student, teacher, grid=grid, covariance='full')
    ref = loop_wkd_feature(student, teacher, grid, covariance='full')
    torch.testing.assert_close(ours, ref, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize('size,grid', [(7, 4), (9, 2), (5, 3), (3, 5),
                                       (14, 4)])
def test_cell_bounds_follow_adaptive_pooling(size, grid):
    starts, ends = grid_cell_bounds(size, grid)
    assert starts == [math.floor(i * size / grid) for i in range(grid)]
    assert ends == [math.ceil((i + 1) * size / grid) for i in range(grid)]
    # Independent check: the cell means are adaptive_avg_pool1d's outputs.
    x = torch.randn(1, 1, size, dtype=torch.float64)
    pooled = F.adaptive_avg_pool1d(x, grid)[0, 0]
    means = torch.stack([x[0, 0, s:e].mean() for s, e in zip(starts, ends)])
    torch.testing.assert_close(means, pooled)


def test_point_sets_and_grid_one_agree():
    gen = torch.Generator().manual_seed(2)
    student = torch.randn(3, 4, 10, generator=gen)
    teacher = torch.randn(3, 4, 10, generator=gen)
    torch.testing.assert_close(
        wkd_feature_loss(student, teacher),
        wkd_feature_loss(student.view(3, 4, 2, 5), teacher.view(3, 4, 2, 5)))


def test_identical_features_and_gradients():
    gen = torch.Generator().manual_seed(3)
    teacher = torch.randn(2, 8, 5, 5, generator=gen)
    for covariance in ('diag', 'full'):
        student = teacher.clone().requires_grad_()
        loss = wkd_feature_loss(student, teacher, grid=2,
                                covariance=covariance)
        loss.backward()
        assert abs(loss.item()) < 1e-5
        assert torch.isfinite(student.grad).all()
        assert student.grad.abs().max() < 1e-3
    student = torch.randn(2, 8, 5, 5, generator=gen, requires_grad=True)
    teacher.requires_grad_()
    wkd_feature_loss(student, teacher, covariance='full').backward()
    assert teacher.grad is None and torch.isfinite(student.grad).all()


def test_dtype_policy():
    student, teacher = torch.randn(2, 2, 3, 3, 3).bfloat16()
    loss = wkd_feature_loss(student, teacher)
    assert loss.dtype == torch.float32
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        inside = wkd_feature_loss(student.float(), teacher.float())
    assert inside.dtype == torch.float32


def test_module_registry_and_weighting():
    gen = torch.Generator().manual_seed(4)
    student, teacher = torch.randn(2, 4, 3, 6, 6, generator=gen)
    module = MODELS.build(
        dict(type='WKDFeatureLoss', grid=2, loss_weight=0.5,
             mean_cov_ratio=1.0))
    assert isinstance(module, WKDFeatureLoss)
    expected = wkd_feature_loss(student, teacher, grid=2, mean_cov_ratio=1.0)
    torch.testing.assert_close(module(student, teacher), 0.5 * expected)
    per_image = module(student, teacher, reduction_override='none')
    assert per_image.shape == (4, )
    torch.testing.assert_close(per_image.mean(), 0.5 * expected)
    empty = torch.zeros(0, 3, 6, 6, requires_grad=True)
    zero = module(empty, torch.zeros(0, 3, 6, 6))
    zero.backward()
    assert zero.item() == 0 and empty.grad is not None


def test_errors():
    student = torch.zeros(2, 128, 7, 7)
    with pytest.raises(
            ValueError,
            match=r'student_feat has shape \(2, 128, 7, 7\) but teacher_feat '
            r'has shape \(2, 256, 7, 7\); add a connector/projector'):
        wkd_feature_loss(student, torch.zeros(2, 256, 7, 7))
    with pytest.raises(ValueError,
                       match=r"covariance must be one of \('diag', 'full'\)"):
        wkd_feature_loss(student, student, covariance='low_rank')
    with pytest.raises(ValueError,
                       match=r"covariance must be one of \('diag', 'full'\)"):
        WKDFeatureLoss(covariance='isotropic')
    with pytest.raises(ValueError, match=r'grid=4 on a 4x4 map gives cells '
                       r'of 1 position\(s\)'):
        wkd_feature_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4),
                         grid=4)
    with pytest.raises(ValueError, match='use grid=1'):
        wkd_feature_loss(torch.zeros(1, 2, 9), torch.zeros(1, 2, 9), grid=2)
    with pytest.raises(ValueError, match='grid must be a positive integer'):
        wkd_feature_loss(student, student, grid=0)
    with pytest.raises(ValueError, match=r'\[B, C, H, W\]'):
        wkd_feature_loss(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match='eps must be'):
        wkd_feature_loss(student, student, eps=-1.0)


def test_cell_size_gives_each_map_cells_of_that_size():
    """cell_size c: about H / c x W / c cells on every map, the same as the
    grid of that size on a square map, per axis on a non-square one."""
    torch.manual_seed(0)
    s, t = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    by_cell = WKDFeatureLoss(cell_size=2, mean_cov_ratio=3.0)(s, t)
    torch.testing.assert_close(
        by_cell, wkd_feature_loss(s, t, grid=4, mean_cov_ratio=3.0))
    # 6 x 4 map, cell 2: 3 x 2 cells; against a brute-force loop
    s, t = torch.randn(2, 4, 6, 4).double(), torch.randn(2, 4, 6, 4).double()
    ours = WKDFeatureLoss(cell_size=2, mean_cov_ratio=3.0)(s, t)
    terms = []
    for i in range(3):
        for j in range(2):
            cs = s[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].flatten(2)
            ct = t[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].flatten(2)
            mean = (cs.mean(-1) - ct.mean(-1)).square().sum(-1)
            std = (torch.sqrt(cs.var(-1) + 1e-5) -
                   torch.sqrt(ct.var(-1) + 1e-5)).square().sum(-1)
            terms.append(3.0 * mean + std)
    torch.testing.assert_close(ours, torch.stack(terms).mean(0).mean())
    with pytest.raises(ValueError, match='cell_size must be an int >= 2'):
        WKDFeatureLoss(cell_size=1)
    with pytest.raises(ValueError, match=r'cell_size=2 \(1x1 cells\) on a '
                       r'1x2 map gives cells of 2|cells of 1 position'):
        WKDFeatureLoss(cell_size=2)(torch.rand(1, 2, 1, 1),
                                    torch.rand(1, 2, 1, 1))


def test_channel_normalisation_standardises_both_maps():
    torch.manual_seed(1)
    s, t = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    scaled = WKDFeatureLoss(grid=2, normalize='channel')
    # invariant to a per-channel affine map of either side
    gain = torch.tensor([10.0, 0.5, 3.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(
        scaled(s, t), scaled(s * gain + 2.0, t), rtol=1e-4, atol=1e-5)

    def standard(x):
        mean = x.mean(dim=(-2, -1), keepdim=True)
        var = x.var(dim=(-2, -1), keepdim=True, unbiased=False)
        return (x - mean) / torch.sqrt(var + 1e-5)

    torch.testing.assert_close(
        scaled(s, t), wkd_feature_loss(standard(s), standard(t), grid=2))
    with pytest.raises(ValueError, match='one cell compares nothing'):
        WKDFeatureLoss(normalize='channel')
    with pytest.raises(ValueError, match='normalize must be one of'):
        WKDFeatureLoss(grid=2, normalize='level')


def test_channel_normalisation_gradient_and_autocast():
    """The FPN default (2x2-position cells, standardised maps): its gradient
    equals autograd's through the brute-force loop on standardised maps and
    passes gradcheck; under bfloat16 autocast it computes in float32, the
    same value as outside, with a finite gradient."""
    gen = torch.Generator().manual_seed(7)
    student = torch.randn(2, 3, 8, 8, generator=gen, dtype=torch.float64)
    teacher = torch.randn(2, 3, 8, 8, generator=gen, dtype=torch.float64)
    loss = WKDFeatureLoss(cell_size=2, normalize='channel')

    def standard(x):
        mean = x.mean(dim=(-2, -1), keepdim=True)
        var = x.var(dim=(-2, -1), keepdim=True, unbiased=False)
        return (x - mean) / torch.sqrt(var + 1e-5)

    ours = student.clone().requires_grad_()
    ref = student.clone().requires_grad_()
    loss(ours, teacher).backward()
    # cell_size 2 on an 8 x 8 map is the 4 x 4 grid
    loop_wkd_feature(standard(ref), standard(teacher), 4).backward()
    torch.testing.assert_close(ours.grad, ref.grad, rtol=1e-9, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda s: loss(s, teacher), (student.clone().requires_grad_(), ))

    s32, t32 = student.float() * 30, teacher.float() * 30
    outside = loss(s32, t32)
    s_amp = s32.clone().requires_grad_()
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        inside = loss(s_amp, t32)
    assert inside.dtype == torch.float32
    torch.testing.assert_close(inside, outside)
    inside.backward()
    assert torch.isfinite(s_amp.grad).all()


@pytest.mark.parametrize('height,width,grid', [(11, 11, 5), (15, 11, (7, 5)),
                                               (12, 10, (6, 5))])
def test_many_cells_gathered_match_the_membership_gemm(height, width, grid):
    """Above GEMM_MAX_CELLS cells the moments are gathered cell by cell
    (overlapping adaptive-pooling cells included): same means, variances
    and input gradients as the membership GEMM, and as the loop."""
    import importlib
    module = importlib.import_module('mmkd.losses.wkd_feature_loss')
    grid = grid if isinstance(grid, tuple) else (grid, grid)
    assert grid[0] * grid[1] > module.GEMM_MAX_CELLS
    gen = torch.Generator().manual_seed(height * width)
    feat = torch.randn(2, 3, height, width, generator=gen,
                       dtype=torch.float64) * 3 + 2
    weights = torch.randn(2, 3, grid[0] * grid[1], generator=gen,
                          dtype=torch.float64)
    gathered = feat.clone().requires_grad_()
    gemm = feat.clone().requires_grad_()
    mean_g, var_g = module._cell_moments_gathered(gathered, grid)
    member = module._cell_membership_2d(height, width, grid, feat)
    mean_m, var_m = module._CellMomentsDiag.apply(gemm, member)
    torch.testing.assert_close(mean_g, mean_m)
    torch.testing.assert_close(var_g, var_m)
    (weights * (mean_g + var_g.sqrt())).sum().backward()
    (weights * (mean_m + var_m.sqrt())).sum().backward()
    torch.testing.assert_close(gathered.grad, gemm.grad)
    if grid[0] == grid[1]:
        teacher = torch.randn_like(feat)
        torch.testing.assert_close(
            wkd_feature_loss(feat, teacher, grid=grid[0]),
            loop_wkd_feature(feat, teacher, grid[0]))
