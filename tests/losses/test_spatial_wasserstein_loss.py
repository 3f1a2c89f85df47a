# Copyright (c) OpenMMLab. All rights reserved.
"""The spatial Wasserstein loss against POT on small grids (values and
gradients, with the explicit HW x HW cost), and its properties."""
import ot
import pytest
import torch
import torch.nn.functional as F

from mmkd.losses.spatial_wasserstein_loss import (SpatialWassersteinLoss,
                                                  spatial_sinkhorn_cost,
                                                  spatial_wasserstein_loss)

DOUBLE = dict(dtype=torch.float64)


def _explicit_cost(height, width):
    """The HW x HW normalised squared distance, written out."""
    ys = torch.arange(height, **DOUBLE) / max(height - 1, 1)
    xs = torch.arange(width, **DOUBLE) / max(width - 1, 1)
    grid = torch.stack(torch.meshgrid(ys, xs, indexing='ij'), -1).reshape(-1, 2)
    return torch.cdist(grid, grid).square()


def _maps(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, **DOUBLE)


@pytest.mark.parametrize('height, width, reg, iters', [
    (3, 4, 0.05, 10), (5, 5, 0.02, 40), (4, 1, 0.1, 25), (6, 3, 0.2, 200)])
def test_cost_equals_pot_sinkhorn2(height, width, reg, iters):
    a = F.softmax(_maps((3, height * width), 0), -1)
    b = F.softmax(_maps((3, height * width), 1), -1)
    ours = spatial_sinkhorn_cost(
        a.view(3, height, width), b.view(3, height, width), reg, iters)
    cost = _explicit_cost(height, width)
    for k in range(3):
        ref = ot.sinkhorn2(a[k], b[k], cost, reg, numItermax=iters,
                           stopThr=0.0)
        torch.testing.assert_close(ours[k], torch.as_tensor(ref, **DOUBLE),
                                   rtol=1e-6, atol=1e-9)


def test_gradient_equals_pots_through_the_iterations():
    """Gradients flow through the unrolled iterations as POT's torch
    backend's do (same iteration order)."""
    height, width, reg, iters = 4, 3, 0.05, 15
    logits = _maps((height * width, ), 2).requires_grad_()
    b = F.softmax(_maps((height * width, ), 3), -1)
    ours = spatial_sinkhorn_cost(
        F.softmax(logits, -1).view(1, height, width),
        b.view(1, height, width), reg, iters)[0]
    grad, = torch.autograd.grad(ours, logits)
    logits_ref = logits.detach().clone().requires_grad_()
    ref = ot.sinkhorn2(F.softmax(logits_ref, -1), b,
                       _explicit_cost(height, width), reg,
                       numItermax=iters, stopThr=0.0)
    grad_ref, = torch.autograd.grad(ref, logits_ref)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize('height, width', [(2, 2), (4, 4), (2, 3)])
def test_peaked_maps_on_coarse_grids_stay_finite(height, width):
    """FPN's coarse levels at reg 0.02: the kernel is almost the identity,
    so moving a peak needs scalings near exp(25), whose plain iteration
    overflowed in the gradient (the first toy run went NaN). The value is
    POT's log-domain Sinkhorn's; the float32 gradient is finite and equals
    the float64 one."""
    reg, iters = 0.02, 30
    s = _maps((2, 3, height, width), 8) * 20
    t = _maps((2, 3, height, width), 9) * 20
    cost = _explicit_cost(height, width)
    a = F.softmax(s.flatten(2), -1).flatten(0, 1)
    b = F.softmax(t.flatten(2), -1).flatten(0, 1)
    ref = torch.stack([
        torch.as_tensor(ot.sinkhorn2(a[k], b[k], cost, reg,
                                     method='sinkhorn_log', numItermax=iters,
                                     stopThr=0.0))
        for k in range(a.shape[0])
    ]).view(2, 3).mean()
    grads = []
    for dtype in (torch.float64, torch.float32):
        student = s.to(dtype).clone().requires_grad_()
        loss = spatial_wasserstein_loss(student, t.to(dtype), reg=reg,
                                        iters=iters)
        loss.backward()
        assert torch.isfinite(student.grad).all()
        grads.append(student.grad.double())
        torch.testing.assert_close(loss.double(), ref, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-3, atol=1e-6)


def test_a_shift_costs_by_how_far_it_moved():
    """A KL sees no difference between a one-cell and a three-cell shift of
    a peak; the transport cost grows with the distance."""
    base = torch.full((1, 1, 1, 8), -20.0, **DOUBLE)
    teacher = base.clone()
    teacher[..., 1] = 20.0
    costs = []
    for shift in (1, 3, 6):
        student = base.clone()
        student[..., 1 + shift] = 20.0
        costs.append(float(spatial_wasserstein_loss(
            student, teacher, reg=0.005, iters=200)))
    assert costs[0] < costs[1] < costs[2]
    # about the squared distance moved (in units of the normalised axis)
    assert costs[1] == pytest.approx((3 / 7)**2, rel=0.05)


def test_identical_maps_cost_almost_nothing_and_the_loss_is_a_mean():
    x = _maps((2, 3, 5, 6), 4)
    loss = SpatialWassersteinLoss(reg=0.01, iters=50, reduction='none')
    same = loss(x, x)
    assert same.shape == (2, )
    y = _maps((2, 3, 5, 6), 5)
    other = loss(x, y)
    assert bool((same < 0.2 * other).all())
    per_image = spatial_wasserstein_loss(x[:1], y[:1], reg=0.01, iters=50)
    torch.testing.assert_close(per_image, other[0])
    weighted = SpatialWassersteinLoss(reg=0.01, iters=50, loss_weight=2.0)(
        x, y, weight=torch.tensor([1.0, 0.0], **DOUBLE), avg_factor=1.0)
    torch.testing.assert_close(weighted, 2 * other[0], rtol=1e-6, atol=1e-9)


def test_float32_outside_autocast_and_errors():
    s = torch.randn(2, 4, 6, 6, requires_grad=True)
    t = torch.randn(2, 4, 6, 6)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = SpatialWassersteinLoss()(s.bfloat16(), t.bfloat16())
    assert out.dtype == torch.float32 and torch.isfinite(out)
    out.backward()
    assert torch.isfinite(s.grad).all()
    with pytest.raises(ValueError, match=r'\(N, C, H, W\) of the same shape'):
        spatial_wasserstein_loss(torch.rand(2, 4, 6, 6), torch.rand(2, 3, 6, 6))
    with pytest.raises(ValueError, match='reg must be > 0'):
        SpatialWassersteinLoss(reg=0)
    with pytest.raises(ValueError, match='iters must be a positive integer'):
        SpatialWassersteinLoss(iters=0)


def test_channel_wise_kl_is_cwd():
    """MMRazor's ChannelWiseDivergence, written out: tau^2 sum over positions
    of p_T (log p_T - log p_S), divided by N * C."""
    from mmkd.losses import ChannelWiseKLLoss
    s, t = _maps((2, 3, 4, 5), 6), _maps((2, 3, 4, 5), 7)
    tau = 2.0
    p_t = F.softmax(t.flatten(2) / tau, -1)
    expected = (p_t * (torch.log(p_t) - F.log_softmax(s.flatten(2) / tau, -1))
                ).sum() * tau**2 / (2 * 3)
    torch.testing.assert_close(ChannelWiseKLLoss(tau=tau)(s, t), expected)
    # a KL cannot tell a near shift from a far one (see the test above)
    base = torch.full((1, 1, 1, 8), -20.0, **DOUBLE)
    teacher = base.clone()
    teacher[..., 1] = 20.0
    kls = []
    for shift in (1, 6):
        student = base.clone()
        student[..., 1 + shift] = 20.0
        kls.append(float(ChannelWiseKLLoss()(student, teacher)))
    assert kls[0] == pytest.approx(kls[1])
