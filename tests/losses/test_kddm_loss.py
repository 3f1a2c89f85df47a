# Copyright (c) OpenMMLab. All rights reserved.
"""KDDM distances against POT, closed forms and double loops (float64)."""
import math

import numpy as np
import ot
import pytest
import torch
from scipy.optimize import linprog
from torch.distributions import MultivariateNormal, kl_divergence

from mmkd.losses.kddm_loss import (KDDM_METRICS, KDDMLoss, class_conditional,
                                   empirical_wasserstein, fit_gaussian,
                                   fitted_gaussian_wasserstein,
                                   gaussian_kl_divergence, joint_wasserstein,
                                   kddm_distance, mmd_linear, mmd_rbf)
from mmkd.registry import MODELS

D64 = torch.float64

#: (metric, options) pairs covering every code path of kddm_distance.
CONFIGS = [
    ('wasserstein', {}),
    ('joint_wasserstein', {}),
    ('joint_wasserstein', dict(label_cost='kl', beta=0.5)),
    ('gaussian_wasserstein', dict(covariance='diag')),
    ('gaussian_wasserstein', dict(covariance='full')),
    ('gaussian_kl', dict(covariance='diag')),
    ('gaussian_kl', dict(covariance='full', shrinkage=0.1)),
    ('mmd', dict(kernel='linear')),
    ('mmd', dict(kernel='rbf')),
    ('mmd', dict(kernel='rbf', sigma=2.0)),
]
IDS = [f'{m}-{"-".join(f"{k}={v}" for k, v in o.items())}'
       for m, o in CONFIGS]
#: (metric, options, conditional); the joint W2 is never conditioned.
COND_CONFIGS = [
    pytest.param(m, o, c, id=f'{i}-{"cond" if c else "plain"}')
    for (m, o), i in zip(CONFIGS, IDS) for c in (False, True)
    if not (c and m == 'joint_wasserstein')
]


def _pair(n=8, d=5, m=None, seed=0, shift=1.0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=D64)
    y = torch.randn(n if m is None else m, d, generator=g, dtype=D64) * 1.5
    return x, y + shift


def _uniform(k):
    return np.full(k, 1.0 / k)


def _np_cov(x):
    return np.cov(x, rowvar=False, bias=True).reshape(x.shape[1], -1)


# ----------------------------------------------------------------------
# empirical W2
# ----------------------------------------------------------------------
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_empirical_w2_matches_pot(seed):
    x, y = _pair(n=9, d=4, seed=seed)
    ref = ot.emd2(_uniform(9), _uniform(9), ot.dist(x.numpy(), y.numpy()))
    assert empirical_wasserstein(x, y).item() == pytest.approx(ref, rel=1e-10)


def test_empirical_w2_unequal_sizes_matches_linprog():
    x, y = _pair(n=5, m=3, d=3, seed=4)
    cost = ((x.numpy()[:, None] - y.numpy()[None]) ** 2).sum(-1)
    n, m = cost.shape
    a_eq = np.zeros((n + m, n * m))
    for i in range(n):
        a_eq[i, i * m:(i + 1) * m] = 1
    for j in range(m):
        a_eq[n + j, j::m] = 1
    b_eq = np.concatenate([_uniform(n), _uniform(m)])
    ref = linprog(cost.ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None)).fun
    assert empirical_wasserstein(x, y).item() == pytest.approx(ref, rel=1e-8)


def test_empirical_w2_envelope_gradient():
    x, y = _pair(n=6, d=3, seed=5)
    x.requires_grad_(True)
    empirical_wasserstein(x, y).backward()
    plan = ot.emd(_uniform(6), _uniform(6), ot.dist(x.detach().numpy(),
                                                    y.numpy()))
    diff = x.detach().numpy()[:, None] - y.numpy()[None]
    ref = 2 * (plan[:, :, None] * diff).sum(1)
    np.testing.assert_allclose(x.grad.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_conditional_w2_is_sum_over_present_classes():
    x, y = _pair(n=10, d=3, seed=6)
    labels = torch.tensor([0, 0, 3, 3, 3, 7, 0, 7, 3, 0])
    ref = 0.0
    for c in (0, 3, 7):
        idx = (labels == c).numpy()
        k = idx.sum()
        ref += ot.emd2(_uniform(k), _uniform(k),
                       ot.dist(x.numpy()[idx], y.numpy()[idx]))
    out = kddm_distance(x, y, labels, metric='wasserstein', conditional=True)
    assert out.item() == pytest.approx(ref, rel=1e-10)
    mean = class_conditional(empirical_wasserstein, x, y, labels,
                             class_reduction='mean')
    assert mean.item() == pytest.approx(ref / 3, rel=1e-10)


# ----------------------------------------------------------------------
# joint W2
# ----------------------------------------------------------------------
@pytest.mark.parametrize('label_cost', ['sqeuclidean', 'kl'])
def test_joint_w2_matches_pot_student_vs_teacher(label_cost):
    x, y = _pair(n=7, d=4, seed=7)
    g = torch.Generator().manual_seed(8)
    ls = torch.randn(7, 3, generator=g, dtype=D64)
    lt = torch.randn(7, 3, generator=g, dtype=D64)
    xs, ys = x.numpy(), y.numpy()
    feat = ot.dist(xs, ys)
    feat = feat / feat.max()
    if label_cost == 'sqeuclidean':
        lab = ot.dist(ls.numpy(), lt.numpy())
    else:
        ps = torch.softmax(ls, 1).numpy()
        pt = torch.softmax(lt, 1).numpy()
        lab = np.array([[np.sum(ps[i] * np.log(ps[i] / pt[j]))
                         for j in range(7)] for i in range(7)])
    ref = ot.emd2(_uniform(7), _uniform(7), feat + 0.3 * lab)
    out = joint_wasserstein(x, y, ls, lt, beta=0.3, label_cost=label_cost)
    assert out.item() == pytest.approx(ref, rel=1e-10)


def test_joint_w2_compares_student_with_teacher():
    """The public code's bug (student vs student) would give 0 here."""
    x, _ = _pair(n=6, d=4, seed=9)
    logits = torch.randn(6, 3, dtype=D64)
    moved = x + 3.0
    assert joint_wasserstein(x, x, logits, logits).item() == 0
    assert joint_wasserstein(x, moved, logits, logits).item() > 0.1


# ----------------------------------------------------------------------
# Gaussian approximations
# ----------------------------------------------------------------------
def test_fit_gaussian_regularisation():
    x, _ = _pair(n=6, d=3, seed=10)
    mean, cov = fit_gaussian(x, 'full', eps=0.01, shrinkage=0.25)
    s = _np_cov(x.numpy())
    ref = 0.75 * s + (0.25 * np.trace(s) / 3 + 0.01) * np.eye(3)
    np.testing.assert_allclose(cov.numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(mean.numpy(), x.numpy().mean(0), rtol=1e-12)
    _, var = fit_gaussian(x, 'diag', eps=0.01, shrinkage=0.25)
    np.testing.assert_allclose(var.numpy(), np.diag(ref), rtol=1e-12)


def test_gaussian_w2_diag_matches_hand_formula():
    x, y = _pair(n=8, d=4, seed=11)
    xs, ys = x.numpy(), y.numpy()
    eps = 1e-3
    ref = (np.sum((xs.mean(0) - ys.mean(0)) ** 2) +
           np.sum((np.sqrt(xs.var(0) + eps) - np.sqrt(ys.var(0) + eps))**2))
    out = fitted_gaussian_wasserstein(x, y, 'diag', eps=eps)
    assert out.item() == pytest.approx(ref, rel=1e-10)


def test_gaussian_w2_full_matches_pot_bures():
    x, y = _pair(n=12, d=4, seed=12)
    xs, ys = x.numpy(), y.numpy()
    eps = 1e-3
    cs = _np_cov(xs) + eps * np.eye(4)
    ct = _np_cov(ys) + eps * np.eye(4)
    ref = ot.gaussian.bures_wasserstein_distance(xs.mean(0), ys.mean(0), cs,
                                                 ct)**2
    out = fitted_gaussian_wasserstein(x, y, 'full', eps=eps)
    assert out.item() == pytest.approx(float(ref), rel=1e-8)


def test_gaussian_kl_diag_matches_hand_formula():
    x, y = _pair(n=8, d=4, seed=13)
    xs, ys = x.numpy(), y.numpy()
    eps = 1e-3
    vs, vt = xs.var(0) + eps, ys.var(0) + eps
    ms, mt = xs.mean(0), ys.mean(0)
    ref = 0.5 * np.sum(vs / vt + (mt - ms)**2 / vt - 1 + np.log(vt / vs))
    out = gaussian_kl_divergence(x, y, 'diag', eps=eps)
    assert out.item() == pytest.approx(ref, rel=1e-10)


def test_gaussian_kl_full_matches_torch_distributions():
    x, y = _pair(n=10, d=4, seed=14)
    eps, shrink = 1e-3, 0.2
    xs, ys = x.numpy(), y.numpy()

    def reg(c):
        return (1 - shrink) * c + (shrink * np.trace(c) / 4 +
                                   eps) * np.eye(4)

    p = MultivariateNormal(
        torch.from_numpy(xs.mean(0)), torch.from_numpy(reg(_np_cov(xs))))
    q = MultivariateNormal(
        torch.from_numpy(ys.mean(0)), torch.from_numpy(reg(_np_cov(ys))))
    out = gaussian_kl_divergence(x, y, 'full', eps=eps, shrinkage=shrink)
    assert out.item() == pytest.approx(kl_divergence(p, q).item(),
                                       rel=1e-10)


# ----------------------------------------------------------------------
# MMD
# ----------------------------------------------------------------------
def _mmd_loop(x, y, kernel):
    n, m = len(x), len(y)
    kxx = sum(kernel(x[i], x[j]) for i in range(n) for j in range(n))
    kyy = sum(kernel(y[i], y[j]) for i in range(m) for j in range(m))
    kxy = sum(kernel(x[i], y[j]) for i in range(n) for j in range(m))
    return kxx / n**2 + kyy / m**2 - 2 * kxy / (n * m)


def test_mmd_linear_matches_double_loop():
    x, y = _pair(n=6, m=4, d=3, seed=15)
    xs, ys = x.numpy(), y.numpy()
    ref = _mmd_loop(xs, ys, lambda a, b: float(a @ b))
    assert mmd_linear(x, y).item() == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize('sigma', [None, 1.7])
def test_mmd_rbf_matches_double_loop(sigma):
    x, y = _pair(n=5, m=6, d=3, seed=16)
    xs, ys = x.numpy(), y.numpy()
    if sigma is None:
        pts = [(xs, xs), (ys, ys), (xs, ys)]
        dists = [np.linalg.norm(a - b) for p, q in pts for a in p for b in q]
        bw = np.mean(dists)
    else:
        bw = sigma

    def kernel(a, b):
        return np.exp(-np.sum((a - b)**2) / (2 * bw**2))

    ref = _mmd_loop(xs, ys, kernel)
    assert mmd_rbf(x, y, sigma).item() == pytest.approx(ref, rel=1e-10)


# ----------------------------------------------------------------------
# invariants
# ----------------------------------------------------------------------
def _logits(n, seed):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed),
                       dtype=D64)


@pytest.mark.parametrize('metric,opts,conditional', COND_CONFIGS)
def test_distance_to_itself_is_zero(metric, opts, conditional):
    x, _ = _pair(n=9, d=4, seed=17)
    labels = torch.tensor([0, 1, 1, 2, 2, 2, 0, 1, 2])
    logits = _logits(9, 18)
    out = kddm_distance(x, x.clone(), labels, logits, logits.clone(),
                        metric=metric, conditional=conditional, **opts)
    assert abs(out.item()) < 1e-10


@pytest.mark.parametrize('metric,opts', CONFIGS, ids=IDS)
def test_symmetry_where_it_holds(metric, opts):
    x, y = _pair(n=8, d=3, seed=19)
    ls, lt = _logits(8, 20), _logits(8, 21)
    fwd = kddm_distance(x, y, None, ls, lt, metric=metric, **opts).item()
    bwd = kddm_distance(y, x, None, lt, ls, metric=metric, **opts).item()
    if metric == 'gaussian_kl' or opts.get('label_cost') == 'kl':
        assert abs(fwd - bwd) > 1e-3 * abs(fwd)
    else:
        assert fwd == pytest.approx(bwd, rel=1e-10)
    assert fwd > 0


# ----------------------------------------------------------------------
# degenerate batches: finite values and gradients
# ----------------------------------------------------------------------
def _degenerate_cases():
    g = torch.Generator().manual_seed(22)
    base = torch.randn(6, 4, generator=g, dtype=torch.float32)
    const = base.clone()
    const[:, 2] = 0.7  # a dead channel in both networks
    wide = torch.randn(3, 10, generator=g)  # n < d
    return {
        'one-sample-per-class': (base, base * 0.5 + 1, torch.arange(6)),
        'constant-channel': (const, const * 1.3, torch.tensor([0, 0, 0, 1,
                                                               1, 1])),
        'n<d': (wide, wide + 0.5, torch.tensor([0, 1, 1])),
    }


@pytest.mark.parametrize('case', ['one-sample-per-class', 'constant-channel',
                                  'n<d'])
@pytest.mark.parametrize('metric,opts,conditional', COND_CONFIGS)
def test_degenerate_inputs_stay_finite(metric, opts, conditional, case):
    fs, ft, labels = _degenerate_cases()[case]
    fs = fs.clone().requires_grad_(True)
    ft = ft.clone().requires_grad_(True)
    logits_s = fs[:, :3] * 2
    logits_t = ft[:, :3] * 2
    loss = KDDMLoss(metric=metric, conditional=conditional,
                    detach_teacher=False, **opts)
    out = loss(fs, ft, labels, logits_s, logits_t)
    assert torch.isfinite(out)
    out.backward()
    for grad in (fs.grad, ft.grad):
        assert grad is not None and torch.isfinite(grad).all()


@pytest.mark.parametrize('metric,opts', CONFIGS, ids=IDS)
def test_empty_batch_gives_graph_connected_zero(metric, opts):
    fs = torch.zeros(0, 4, requires_grad=True)
    ft = torch.zeros(0, 4)
    out = KDDMLoss(metric=metric, **opts)(fs, ft, torch.zeros(0).long(),
                                          torch.zeros(0, 3),
                                          torch.zeros(0, 3))
    assert out.item() == 0 and out.requires_grad
    out.backward()
    assert fs.grad is not None


def test_one_empty_side_gives_a_finite_zero_whatever_the_other_holds():
    fs = torch.zeros(0, 4, requires_grad=True)
    ft = torch.full((3, 4), math.inf, requires_grad=True)
    out = empirical_wasserstein(fs, ft)
    assert torch.isfinite(out) and out.item() == 0 and out.requires_grad
    out.backward()
    assert torch.equal(ft.grad, torch.zeros_like(ft))


# ----------------------------------------------------------------------
# the registered wrapper
# ----------------------------------------------------------------------
def test_wrapper_builds_from_registry_and_weights():
    loss = MODELS.build(
        dict(type='KDDMLoss', metric='wasserstein', loss_weight=0.5))
    x, y = _pair(n=5, d=3, seed=23)
    assert loss(x, y).item() == pytest.approx(
        0.5 * empirical_wasserstein(x, y).item(), rel=1e-12)


def test_wrapper_detaches_teacher_by_default():
    x, y = _pair(n=5, d=3, seed=24)
    x.requires_grad_(True)
    y.requires_grad_(True)
    KDDMLoss(metric='gaussian_wasserstein')(x, y).backward()
    assert y.grad is None and x.grad is not None


def test_half_inputs_compute_in_float32():
    x, y = _pair(n=5, d=3, seed=25)
    out = KDDMLoss(metric='mmd', kernel='rbf')(x.half(), y.half())
    assert out.dtype == torch.float32


@pytest.mark.parametrize('kwargs,match', [
    (dict(metric='w2'), r"metric must be one of \('wasserstein'"),
    (dict(covariance='lowrank'), "covariance must be one of"),
    (dict(kernel='poly'), "kernel must be one of"),
    (dict(shrinkage=1.5), r'shrinkage must lie in \[0, 1\], got 1.5'),
    (dict(metric='gaussian_kl', eps=0), 'set eps > 0'),
    (dict(metric='joint_wasserstein', conditional=True),
     'use conditional=False'),
    (dict(sigma=-1.0), 'sigma must be > 0, got -1.0'),
])
def test_wrapper_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KDDMLoss(**kwargs)


def test_input_errors_name_the_fix():
    x, y = _pair(n=4, d=3, seed=26)
    with pytest.raises(ValueError, match='add a connector'):
        KDDMLoss()(x, torch.randn(4, 5, dtype=D64))
    with pytest.raises(ValueError, match='pool spatial maps'):
        KDDMLoss()(x[:, :, None, None], y[:, :, None, None])
    with pytest.raises(TypeError, match='pass its last item'):
        KDDMLoss()((x, ), y)
    with pytest.raises(ValueError, match='needs the student and teacher'):
        KDDMLoss(metric='joint_wasserstein')(x, y)
    with pytest.raises(ValueError, match='needs the ground-truth labels'):
        KDDMLoss(conditional=True)(x, y)
    with pytest.raises(TypeError, match='pass labels.long'):
        KDDMLoss(conditional=True)(x, y, torch.zeros(4))


def test_every_metric_is_covered():
    assert {m for m, _ in CONFIGS} == set(KDDM_METRICS)
