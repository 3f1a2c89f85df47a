# Copyright (c) OpenMMLab. All rights reserved.
"""Tests of the batched Sinkhorn solvers against loops and POT."""
import importlib

import ot
import pytest
import torch

from mmkd.losses import sinkhorn, sinkhorn_cost

# The function shadows its module in the package namespace.
sinkhorn_module = importlib.import_module('mmkd.losses.sinkhorn')


def random_marginals(num, n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    a = torch.softmax(torch.randn(num, n, generator=gen,
                                  dtype=torch.float64), 1)
    b = torch.softmax(torch.randn(num, n, generator=gen,
                                  dtype=torch.float64), 1)
    return a, b


def random_cost(n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    cost = torch.rand(n, n, generator=gen, dtype=torch.float64)
    cost = (cost + cost.t()) / 2
    cost.fill_diagonal_(0)
    return cost


def loop_plain_plan(a, b, cost, reg, iters):
    """One problem at a time, with the official guards and u = 1 / n."""
    plans = []
    kernel = torch.exp(-cost / reg)
    for a_i, b_i in zip(a, b):
        u = torch.full_like(a_i, 1 / a_i.numel())
        for _ in range(iters):
            v = b_i / (kernel.t() @ u + 1e-8)
            u = a_i / (kernel @ v + 1e-8)
        plans.append(u[:, None] * kernel * v[None, :])
    return torch.stack(plans)


def test_plain_plan_equals_loop():
    a, b = random_marginals(4, 9)
    cost = random_cost(9)
    plan = sinkhorn(a, b, cost, reg=0.05, iters=10)
    torch.testing.assert_close(plan, loop_plain_plan(a, b, cost, 0.05, 10),
                               rtol=1e-12, atol=1e-15)
    cost_only = sinkhorn_cost(a, b, cost, reg=0.05, iters=10)
    torch.testing.assert_close(cost_only, (plan * cost).sum((1, 2)),
                               rtol=1e-12, atol=0)
    # A single problem may be given as vectors.
    torch.testing.assert_close(
        sinkhorn(a[0], b[0], cost, reg=0.05, iters=10), plan[0])


@pytest.mark.parametrize('reg', [0.5, 0.05, 0.01])
def test_converged_log_domain_equals_pot_sinkhorn_log(reg):
    a, b = random_marginals(3, 12, seed=1)
    cost = random_cost(12, seed=1)
    plan = sinkhorn(a, b, cost, reg=reg, iters=1500, log_domain=True)
    value = sinkhorn_cost(a, b, cost, reg=reg, iters=1500, log_domain=True)
    for i in range(3):
        ref_plan = ot.sinkhorn(a[i], b[i], cost, reg, method='sinkhorn_log',
                               numItermax=1500, stopThr=1e-15, warn=False)
        ref = ot.sinkhorn2(a[i], b[i], cost, reg, method='sinkhorn_log',
                           numItermax=1500, stopThr=1e-15, warn=False)
        torch.testing.assert_close(plan[i], ref_plan, rtol=1e-9, atol=1e-13)
        torch.testing.assert_close(value[i], ref, rtol=1e-9, atol=0)
    torch.testing.assert_close(plan.sum(2), a, rtol=0, atol=1e-10)
    torch.testing.assert_close(plan.sum(1), b, rtol=0, atol=1e-10)


def test_log_domain_approaches_emd_for_small_reg():
    a, b = random_marginals(3, 8, seed=2)
    cost = random_cost(8, seed=2)
    emd = torch.stack([ot.emd2(a[i], b[i], cost) for i in range(3)])
    errors = []
    for reg in (0.05, 0.01, 0.002):
        value = sinkhorn_cost(a, b, cost, reg=reg, iters=4000,
                              log_domain=True)
        errors.append((value - emd).abs().max().item())
    assert errors[0] > errors[-1]
    assert errors[-1] < 2e-3


def test_plain_underflow_collapses_log_stays_finite():
    # Costs in [0.2, 1], eta = 1e-3: exp(-C / eta) underflows in float32.
    a, b = random_marginals(3, 8, seed=3)
    cost = 0.2 + 0.8 * random_cost(8, seed=3)
    cost.fill_diagonal_(0)
    a32, b32, cost32 = a.float(), b.float(), cost.float()
    plain = sinkhorn_cost(a32, b32, cost32, reg=1e-3, iters=100)
    # Documented: the kernel is the identity, the plan diagonal, cost 0.
    assert torch.equal(plain, torch.zeros(3))
    log = sinkhorn_cost(a32, b32, cost32, reg=1e-3, iters=3000,
                        log_domain=True)
    emd = torch.stack([ot.emd2(a[i], b[i], cost) for i in range(3)])
    assert torch.isfinite(log).all()
    torch.testing.assert_close(log.double(), emd, rtol=2e-2, atol=0)


def naive_log_cost(a, b, cost, reg, iters):
    """Log-domain Sinkhorn with plain autograd over (N, n, n) tensors."""
    neg = -cost / reg
    log_u = torch.full_like(a, -torch.log(torch.tensor(a.shape[1] * 1.0)))
    for _ in range(iters):
        log_v = b.log() - torch.logsumexp(log_u[:, :, None] + neg, dim=1)
        log_u = a.log() - torch.logsumexp(log_v[:, None, :] + neg, dim=2)
    plan = torch.exp(log_u[:, :, None] + neg + log_v[:, None, :])
    return (plan * cost).sum((1, 2))


@pytest.mark.parametrize('chunk', [1 << 22, 50])
def test_log_domain_gradient_equals_naive_autograd(chunk, monkeypatch):
    # A tiny chunk size forces the chunked forward/backward path.
    monkeypatch.setattr(sinkhorn_module, '_CHUNK_ELEMENTS', chunk)
    a, b = random_marginals(5, 6, seed=8)
    logits = a.log().requires_grad_()
    cost = random_cost(6, seed=8)
    ours = sinkhorn_cost(torch.softmax(logits, 1), b, cost, reg=0.1,
                         iters=20, log_domain=True)
    weights = torch.arange(1., 6., **{'dtype': torch.float64})
    grad, = torch.autograd.grad((ours * weights).sum(), logits)
    ref = naive_log_cost(torch.softmax(logits, 1), b, cost, 0.1, 20)
    ref_grad, = torch.autograd.grad((ref * weights).sum(), logits)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-10, atol=1e-13)


def test_log_domain_gradients_are_finite_with_zero_mass():
    a, b = random_marginals(2, 6, seed=4)
    support = torch.ones(2, 6, dtype=torch.bool)
    support[:, 2] = False
    logits = torch.randn(2, 6, dtype=torch.float64).masked_fill(
        ~support, float('-inf')).requires_grad_()
    a = torch.softmax(logits, 1)
    b = b.masked_fill(~support, 0)
    b = b / b.sum(1, keepdim=True)
    value = sinkhorn_cost(a, b, random_cost(6), reg=1e-3, iters=50,
                          log_domain=True, support=support).sum()
    value.backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize('log_domain', [False, True])
def test_support_reproduces_reduced_problem(log_domain):
    a, b = random_marginals(3, 7, seed=5)
    cost = random_cost(7, seed=5)
    drop = torch.tensor([0, 3, 6])
    support = torch.ones(3, 7, dtype=torch.bool)
    support[torch.arange(3), drop] = False
    a_full = a.masked_fill(~support, 0)
    a_full = a_full / a_full.sum(1, keepdim=True)
    b_full = b.masked_fill(~support, 0)
    b_full = b_full / b_full.sum(1, keepdim=True)
    plan = sinkhorn(a_full, b_full, cost, reg=0.05, iters=10,
                    log_domain=log_domain, support=support)
    for i in range(3):
        keep = support[i]
        sub = sinkhorn(a_full[i, keep], b_full[i, keep], cost[keep][:, keep],
                       reg=0.05, iters=10, log_domain=log_domain)
        torch.testing.assert_close(plan[i][keep][:, keep], sub, rtol=1e-12,
                                   atol=1e-15)
        assert plan[i][~keep].abs().max() == 0
        assert plan[i][:, ~keep].abs().max() == 0


def test_wd_of_identical_distributions_is_zero():
    a, _ = random_marginals(4, 10, seed=6)
    cost = 0.2 + 0.8 * random_cost(10, seed=6)
    cost.fill_diagonal_(0)
    value = sinkhorn_cost(a, a, cost, reg=1e-3, iters=200, log_domain=True)
    assert value.abs().max() < 1e-12
    assert all(ot.emd2(a[i], a[i], cost) < 1e-12 for i in range(4))


def test_uniform_cost_gives_scaled_total_variation():
    a, b = random_marginals(4, 10, seed=7)
    c = 0.7
    cost = c * (1 - torch.eye(10, dtype=torch.float64))
    value = sinkhorn_cost(a, b, cost, reg=0.05, iters=1000, log_domain=True)
    total_variation = 0.5 * (a - b).abs().sum(1)
    torch.testing.assert_close(value, c * total_variation, rtol=1e-3,
                               atol=0)


def test_float32_by_default_and_autocast_off():
    a, b = random_marginals(2, 5)
    cost = random_cost(5)
    plan = sinkhorn(a.float(), b.float(), cost.float(), reg=0.1, iters=5)
    assert plan.dtype == torch.float32
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        inside = sinkhorn(a.bfloat16(), b.bfloat16(), cost.float(), reg=0.1,
                          iters=5)
    assert inside.dtype == torch.float32
    assert sinkhorn(a, b, cost.float(), reg=0.1,
                    iters=5).dtype == torch.float64


def test_input_errors():
    a, b = random_marginals(2, 5)
    cost = random_cost(5)
    with pytest.raises(ValueError, match='reg must be > 0'):
        sinkhorn(a, b, cost, reg=0.0, iters=5)
    with pytest.raises(ValueError, match='iters must be a positive'):
        sinkhorn(a, b, cost, reg=0.1, iters=0)
    with pytest.raises(ValueError, match=r'a and b must both have shape'):
        sinkhorn(a, b[:, :4], cost, reg=0.1, iters=5)
    with pytest.raises(ValueError, match=r'cost must have shape \(5, 5\)'):
        sinkhorn(a, b, cost[:4], reg=0.1, iters=5)
    with pytest.raises(ValueError, match='support must have the shape'):
        sinkhorn(a, b, cost, reg=0.1, iters=5,
                 support=torch.ones(2, 4, dtype=torch.bool))
