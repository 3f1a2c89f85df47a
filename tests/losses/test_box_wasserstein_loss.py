# Copyright (c) OpenMMLab. All rights reserved.
"""Tests of the 1-D box-distribution Wasserstein loss against POT."""
import math

import numpy as np
import ot
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS as ROOT_MODELS

from mmkd.losses import (WassersteinBoxLoss, wasserstein_1d_loss,
                         weight_reduce_loss)
from mmkd.registry import MODELS


def random_logits(num, n_bins, dtype=torch.float64, seed=0, scale=2.0):
    gen = torch.Generator().manual_seed(seed)
    student = torch.randn(num, n_bins, generator=gen, dtype=dtype) * scale
    teacher = torch.randn(num, n_bins, generator=gen, dtype=dtype) * scale
    return student, teacher


def one_hot_logits(index, n_bins):
    """Logits whose softmax is exactly one-hot at ``index``."""
    logits = torch.full((1, n_bins), float('-inf'), dtype=torch.float64)
    logits[0, index] = 0.
    return logits


@pytest.mark.parametrize('n_bins', [2, 5, 17])
@pytest.mark.parametrize('temperature,bin_width', [(1.0, 1.0), (3.0, 0.5)])
def test_matches_pot_wasserstein_1d(n_bins, temperature, bin_width):
    student, teacher = random_logits(6, n_bins, seed=n_bins)
    ours = wasserstein_1d_loss(student, teacher, temperature, bin_width)
    assert ours.shape == (6, ) and ours.dtype == torch.float64
    bins = np.arange(n_bins, dtype=np.float64) * bin_width
    p = F.softmax(student / temperature, dim=1).numpy()
    q = F.softmax(teacher / temperature, dim=1).numpy()
    for row in range(6):
        ref = ot.wasserstein_1d(bins, bins, p[row], q[row], p=1)
        # The loss is T * W1 (see the docstring).
        assert ours[row].item() == pytest.approx(
            temperature * float(ref), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize('n_bins', [2, 5, 17])
def test_matches_exact_lp(n_bins):
    bin_width = 0.25
    student, teacher = random_logits(4, n_bins, seed=10 + n_bins)
    ours = wasserstein_1d_loss(student, teacher, bin_width=bin_width)
    grid = np.arange(n_bins, dtype=np.float64)
    cost = np.abs(grid[:, None] - grid[None, :]) * bin_width
    p = F.softmax(student, dim=1).numpy()
    q = F.softmax(teacher, dim=1).numpy()
    for row in range(4):
        ref = ot.emd2(p[row], q[row], cost)
        assert ours[row].item() == pytest.approx(float(ref), rel=1e-8,
                                                 abs=1e-12)


@pytest.mark.parametrize('bin_width', [1.0, 0.5])
def test_geometry_distance_grows_with_shift_unlike_kl(bin_width):
    n_bins, start = 17, 3
    source = one_hot_logits(start, n_bins)
    near = one_hot_logits(start + 1, n_bins)
    far = one_hot_logits(start + 10, n_bins)
    w_near = wasserstein_1d_loss(near, source, bin_width=bin_width)
    w_far = wasserstein_1d_loss(far, source, bin_width=bin_width)
    assert w_near.item() == pytest.approx(1 * bin_width, abs=1e-12)
    assert w_far.item() == pytest.approx(10 * bin_width, abs=1e-12)
    # Illustration: on smoothed one-hots KL is blind to how far mass moved.
    eps = 0.01

    def smoothed(index):
        return F.one_hot(torch.tensor(index), n_bins).double() * (
            1 - eps) + eps / n_bins

    log_src = smoothed(start).log()
    kl_near = F.kl_div(smoothed(start + 1).log(), log_src, log_target=True,
                       reduction='sum')
    kl_far = F.kl_div(smoothed(start + 10).log(), log_src, log_target=True,
                      reduction='sum')
    assert kl_near.item() == pytest.approx(kl_far.item(), rel=1e-12)


def test_identical_inputs_zero_loss_and_gradient():
    logits = torch.randn(5, 17, dtype=torch.float64)
    student = logits.clone().requires_grad_()
    loss = wasserstein_1d_loss(student, logits, temperature=2.0)
    assert torch.equal(loss, torch.zeros(5, dtype=torch.float64))
    loss.sum().backward()
    assert torch.equal(student.grad, torch.zeros_like(student))


def test_gradcheck_and_teacher_detached():
    student, teacher = random_logits(3, 5, seed=7)
    student.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda s: wasserstein_1d_loss(s, teacher, 2.0, 0.5), (student, ))
    teacher.requires_grad_()
    wasserstein_1d_loss(student, teacher).sum().backward()
    assert teacher.grad is None and student.grad is not None
    # With detach_target=False the teacher is differentiable too.
    assert torch.autograd.gradcheck(
        lambda s, t: wasserstein_1d_loss(s, t, detach_target=False),
        (student.detach().requires_grad_(), teacher))


def test_module_weighting_and_reduction():
    reg_max, num_pos = 16, 3
    student, teacher = random_logits(num_pos, 4 * (reg_max + 1), torch.float32,
                                     seed=3)
    # The LDHead call pattern: one row per box edge, weight per edge.
    pred = student.reshape(-1, reg_max + 1)
    soft = teacher.reshape(-1, reg_max + 1)
    weight = torch.rand(num_pos)[:, None].expand(-1, 4).reshape(-1)
    per_edge = wasserstein_1d_loss(pred, soft, temperature=2.0)
    module = WassersteinBoxLoss(temperature=2.0, loss_weight=0.25)
    torch.testing.assert_close(
        module(pred, soft, weight=weight, avg_factor=4.0),
        0.25 * (per_edge * weight).sum() / 4.0)
    torch.testing.assert_close(
        module(pred, soft, weight=weight, avg_factor=4.0),
        0.25 * weight_reduce_loss(per_edge, weight, 'mean', 4.0))
    torch.testing.assert_close(module(pred, soft), 0.25 * per_edge.mean())
    torch.testing.assert_close(
        module(pred, soft, weight, reduction_override='sum'),
        0.25 * (per_edge * weight).sum())
    torch.testing.assert_close(
        module(pred, soft, reduction_override='none'), 0.25 * per_edge)
    with pytest.raises(ValueError, match='avg_factor can not be used'):
        module(pred, soft, avg_factor=4.0, reduction_override='sum')
    with pytest.raises(ValueError, match='reduction must be one of'):
        module(pred, soft, reduction_override='avg')
    empty = torch.zeros(0, reg_max + 1, requires_grad=True)
    zero = module(empty, torch.zeros(0, reg_max + 1))
    zero.backward()
    assert zero.item() == 0 and empty.grad is not None


def test_registry_build():
    module = MODELS.build(
        dict(type='WassersteinBoxLoss', temperature=4.0, loss_weight=2.0))
    assert isinstance(module, WassersteinBoxLoss)
    assert module.temperature == 4.0 and module.loss_weight == 2.0
    module = ROOT_MODELS.build(
        dict(type='mmkd.WassersteinBoxLoss', bin_width=0.5))
    assert isinstance(module, WassersteinBoxLoss)
    assert module.bin_width == 0.5 and module.reduction == 'mean'


def test_dtype_policy_and_autocast():
    student, teacher = random_logits(4, 17, torch.float32, seed=9)
    ref = wasserstein_1d_loss(student, teacher, temperature=2.0)
    assert ref.dtype == torch.float32
    half = wasserstein_1d_loss(student.bfloat16(), teacher.bfloat16())
    assert half.dtype == torch.float32
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        inside = wasserstein_1d_loss(student, teacher, temperature=2.0)
        module_out = WassersteinBoxLoss(temperature=2.0)(student, teacher)
    assert inside.dtype == torch.float32 and torch.isfinite(inside).all()
    torch.testing.assert_close(inside, ref)
    assert module_out.dtype == torch.float32
    assert math.isfinite(module_out.item())


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(temperature=0.0), ValueError, 'temperature must be > 0'),
    (dict(temperature=-1.0), ValueError, 'temperature must be > 0'),
    (dict(temperature=float('nan')), ValueError, 'temperature must be > 0'),
    (dict(bin_width=0.0), ValueError, 'bin_width must be > 0'),
])
def test_bad_hyperparameters(kwargs, error, match):
    student, teacher = random_logits(2, 5)
    with pytest.raises(error, match=match):
        wasserstein_1d_loss(student, teacher, **kwargs)
    with pytest.raises(error, match=match):
        WassersteinBoxLoss(**kwargs)


def test_bad_inputs():
    student, teacher = random_logits(2, 5)
    with pytest.raises(ValueError, match='same reg_max'):
        wasserstein_1d_loss(student, teacher[:, :4])
    with pytest.raises(ValueError, match='at least 2 bins'):
        wasserstein_1d_loss(student[:, :1], teacher[:, :1])
    with pytest.raises(ValueError, match=r'reshape\(-1, reg_max \+ 1\)'):
        wasserstein_1d_loss(student.reshape(-1), teacher.reshape(-1))
    with pytest.raises(TypeError, match=r'pass pred.float\(\)'):
        wasserstein_1d_loss(student.long(), teacher)
    with pytest.raises(TypeError, match=r'pass soft_label.float\(\)'):
        WassersteinBoxLoss()(student, teacher.long())
    with pytest.raises(TypeError, match='must be a torch.Tensor'):
        wasserstein_1d_loss(student.tolist(), teacher)
    with pytest.raises(ValueError, match='reduction must be one of'):
        WassersteinBoxLoss(reduction='avg')
