# Copyright (c) OpenMMLab. All rights reserved.
"""Tests of WKD-L against an independent per-sample (official) version."""
import numpy as np
import ot
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS as ROOT_MODELS

from mmkd.losses import (WKDLogitLoss, as_cost_matrix, check_cost_matrix,
                         wkd_logit_loss)
from mmkd.registry import MODELS


def official_sinkhorn(w1, w2, cost, reg, max_iter):
    """The official per-sample iteration: cost copied per sample."""
    bs, dim = w1.shape
    w1, w2 = w1.unsqueeze(-1), w2.unsqueeze(-1)
    u = 1 / dim * torch.ones_like(w1)
    kernel = torch.exp(-cost / reg)
    kernel_t = kernel.transpose(2, 1)
    for _ in range(max_iter):
        v = w2 / (torch.bmm(kernel_t, u) + 1e-8)
        u = w1 / (torch.bmm(kernel, v) + 1e-8)
    return u.reshape(bs, -1, 1) * kernel * v.reshape(bs, 1, -1)


def official_wd(student, teacher, cost, temperature, reg, iters):
    p_s = F.softmax(student / temperature, dim=-1)
    p_t = F.softmax(teacher.detach() / temperature, dim=-1)
    cost = F.relu(cost) + 1e-8
    flow = official_sinkhorn(p_s, p_t, cost, reg, iters)
    return (flow * cost).sum(-1).sum(-1).mean()


def official_wkd(student, teacher, labels, cost, temperature=2.0, reg=0.05,
                 iters=10, wd_weight=1.0):
    """Re-implementation of the official separated WKD-L, sample by sample
    costs (B x (n-1) x (n-1)), written independently of mmkd."""
    num, width = student.shape
    label = labels.view(-1, 1)
    log_s = F.log_softmax(student, dim=1).gather(1, label)
    p_t = F.softmax(teacher, dim=1).gather(1, label).detach()
    loss_t = -(p_t * log_s).mean()
    mask = torch.ones_like(student).scatter_(1, label, 0).bool()
    student = student[mask].reshape(num, -1)
    teacher = teacher[mask].reshape(num, -1)
    costs = cost.repeat(num, 1, 1)
    pair_mask = mask[:, None, :] * mask[:, :, None]
    costs = costs[pair_mask].reshape(num, width - 1, width - 1)
    return loss_t + wd_weight * official_wd(student, teacher, costs,
                                            temperature, reg, iters)


def random_cost(n, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    points = torch.randn(n, 8, generator=gen, dtype=torch.float64)
    cost = 1 - torch.exp(-torch.cdist(points, points) / 4)
    cost.fill_diagonal_(0)
    return cost.to(dtype)


def random_problem(num, n, dtype=torch.float32, seed=0, scale=3.0):
    gen = torch.Generator().manual_seed(seed)
    student = torch.randn(num, n, generator=gen, dtype=dtype) * scale
    teacher = torch.randn(num, n, generator=gen, dtype=dtype) * scale
    labels = torch.randint(0, n, (num, ), generator=gen)
    return student, teacher, labels


def value_and_grad(fn, student):
    student = student.detach().clone().requires_grad_()
    value = fn(student)
    grad, = torch.autograd.grad(value, student)
    return value.detach(), grad


def assert_rel_close(actual, expected, rel):
    scale = expected.abs().max().clamp(min=1e-30)
    err = (actual.double() - expected.double()).abs().max() / scale
    assert err <= rel, f'relative error {err:.3g} > {rel:g}'


@pytest.mark.parametrize('num,n', [(8, 5), (16, 81), (3, 1000)])
def test_paper_mode_equals_official_float64(num, n):
    student, teacher, labels = random_problem(num, n, torch.float64)
    cost = random_cost(n, torch.float64)
    ours = value_and_grad(
        lambda s: wkd_logit_loss(s, teacher, cost, labels), student)
    ref = value_and_grad(
        lambda s: official_wkd(s, teacher, labels, cost), student)
    assert_rel_close(ours[0], ref[0], 1e-12)
    assert_rel_close(ours[1], ref[1], 1e-10)


@pytest.mark.parametrize('num,n', [(8, 5), (16, 81), (3, 1000)])
def test_paper_mode_float32_within_1e5_of_official(num, n):
    student, teacher, labels = random_problem(num, n, seed=1)
    cost = random_cost(n, seed=1)
    ours = value_and_grad(
        lambda s: wkd_logit_loss(s, teacher, cost, labels), student)
    assert ours[0].dtype == torch.float32
    # The official formulation, in float32 and (exact) float64.
    ref32 = value_and_grad(
        lambda s: official_wkd(s, teacher, labels, cost), student)
    ref64 = value_and_grad(
        lambda s: official_wkd(s, teacher.double(), labels, cost.double()),
        student.double())
    assert_rel_close(ours[0], ref64[0], 1e-5)
    assert_rel_close(ours[1], ref64[1], 1e-5)
    assert_rel_close(ours[0], ref32[0], 1e-5)
    # Both float32 versions carry round-off; ours is the closer to float64.
    assert_rel_close(ours[1], ref32[1], 5e-5)


@pytest.mark.parametrize('n', [5, 81])
def test_no_labels_equals_official_over_all_classes(n):
    student, teacher, _ = random_problem(16, n, torch.float64, seed=2)
    cost = random_cost(n, torch.float64, seed=2)
    kwargs = dict(temperature=4.0, sinkhorn_reg=0.1, sinkhorn_iters=7)
    ours = value_and_grad(
        lambda s: wkd_logit_loss(s, teacher, cost, wd_weight=3.0, **kwargs),
        student)
    ref = value_and_grad(
        lambda s: 3.0 * official_wd(s, teacher, cost.expand(16, n, n), 4.0,
                                    0.1, 7), student)
    assert_rel_close(ours[0], ref[0], 1e-12)
    assert_rel_close(ours[1], ref[1], 1e-10)


def test_hyperparameters_follow_official():
    student, teacher, labels = random_problem(8, 10, torch.float64, seed=3)
    cost = random_cost(10, torch.float64, seed=3)
    ours = wkd_logit_loss(student, teacher, cost, labels, temperature=6.0,
                          wd_weight=30.0, sinkhorn_reg=0.2, sinkhorn_iters=3)
    ref = official_wkd(student, teacher, labels, cost, temperature=6.0,
                       reg=0.2, iters=3, wd_weight=30.0)
    assert_rel_close(ours, ref, 1e-12)


def test_teacher_detached_and_soft_labels():
    student, teacher, labels = random_problem(6, 7, seed=4)
    cost = random_cost(7, seed=4)
    teacher = teacher.requires_grad_()
    student = student.requires_grad_()
    loss = wkd_logit_loss(student, teacher, cost, labels)
    loss.backward()
    assert teacher.grad is None
    assert student.grad is not None
    one_hot = F.one_hot(labels, 7).float() * 0.9 + 0.01
    soft = wkd_logit_loss(student, teacher, cost, one_hot)
    torch.testing.assert_close(soft, loss)


def test_dtype_policy_and_autocast():
    student, teacher, labels = random_problem(4, 9, seed=5)
    cost = random_cost(9, seed=5)
    ref = wkd_logit_loss(student, teacher, cost, labels)
    assert ref.dtype == torch.float32
    half = wkd_logit_loss(student.bfloat16(), teacher.bfloat16(), cost,
                          labels)
    assert half.dtype == torch.float32
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        inside = wkd_logit_loss(student, teacher, cost, labels)
    assert inside.dtype == torch.float32
    torch.testing.assert_close(inside, ref)
    double = wkd_logit_loss(student.double(), teacher.double(), cost, labels)
    assert double.dtype == torch.float64


def test_log_domain_equals_pot_sinkhorn_log():
    n, num, reg = 10, 5, 0.02
    student, teacher, labels = random_problem(num, n, torch.float64, seed=6,
                                              scale=1.0)
    cost = random_cost(n, torch.float64, seed=6)
    ours = wkd_logit_loss(student, teacher, cost, labels, sinkhorn_reg=reg,
                          sinkhorn_iters=2000, log_domain=True)
    total = 0.
    for i in range(num):
        keep = torch.arange(n) != labels[i]
        a = F.softmax(student[i, keep] / 2.0, dim=0)
        b = F.softmax(teacher[i, keep] / 2.0, dim=0)
        sub = cost[keep][:, keep] + 1e-8
        total += ot.sinkhorn2(a, b, sub, reg, method='sinkhorn_log',
                              numItermax=2000, stopThr=1e-14)
        p_t = F.softmax(teacher[i], dim=0)[labels[i]]
        total -= p_t * F.log_softmax(student[i], dim=0)[labels[i]]
    assert_rel_close(ours, total / num, 1e-9)


def test_log_domain_close_to_plain_when_kernel_is_large():
    # With small costs the 1e-8 guards are negligible: same iteration.
    student, teacher, labels = random_problem(16, 81, seed=7)
    cost = random_cost(81, seed=7) * 0.1
    plain = value_and_grad(
        lambda s: wkd_logit_loss(s, teacher, cost, labels), student)
    log = value_and_grad(
        lambda s: wkd_logit_loss(s, teacher, cost, labels, log_domain=True),
        student)
    assert_rel_close(log[0], plain[0], 1e-5)
    assert_rel_close(log[1], plain[1], 1e-4)


def test_small_eta_plain_underflows_log_stays_finite():
    n = 8
    student, teacher, labels = random_problem(4, n, seed=8, scale=1.0)
    cost = 0.3 + 0.7 * random_cost(n, seed=8)
    cost.fill_diagonal_(0)
    with pytest.warns(UserWarning, match='underflows'):
        plain = wkd_logit_loss(student, teacher, cost, sinkhorn_reg=1e-3)
    # Documented behaviour: the kernel loses every off-diagonal entry and
    # WD collapses to about the 1e-8 cost floor.
    assert plain.item() < 1e-6
    student = student.requires_grad_()
    log = wkd_logit_loss(student, teacher, cost, sinkhorn_reg=1e-3,
                         sinkhorn_iters=3000, log_domain=True)
    log.backward()
    assert torch.isfinite(log) and log.item() > 0.05
    assert torch.isfinite(student.grad).all()
    emd = np.mean([
        ot.emd2(
            F.softmax(student[i].detach().double() / 2, 0),
            F.softmax(teacher[i].double() / 2, 0), cost.double())
        for i in range(4)
    ])
    assert abs(log.item() - emd) < 0.02 * emd


def test_empty_batch_gives_graph_connected_zero():
    cost = random_cost(5)
    student = torch.zeros(0, 5, requires_grad=True)
    loss = wkd_logit_loss(student, torch.zeros(0, 5), cost,
                          torch.zeros(0, dtype=torch.long))
    assert loss.item() == 0
    loss.backward()
    assert student.grad is not None


def test_cost_matrix_errors():
    student, teacher, labels = random_problem(2, 81)
    with pytest.raises(ValueError, match='must be square'):
        wkd_logit_loss(student, teacher, torch.zeros(81, 80))
    with pytest.raises(
            ValueError,
            match=r'cost matrix is 80x80 but logits have 81 classes; '
            r'detection logits include the background class, build the '
            r'cost over num_classes \+ 1'):
        wkd_logit_loss(student, teacher, random_cost(80))
    with pytest.raises(ValueError, match='80x80 but logits have 79'):
        wkd_logit_loss(student[:, :79], teacher[:, :79], random_cost(80))
    bad = random_cost(81)
    bad[3, 4] = float('nan')
    with pytest.raises(ValueError, match='1 non-finite'):
        wkd_logit_loss(student, teacher, bad)
    bad[3, 4] = -0.5
    with pytest.raises(ValueError, match=r'negative entries \(min -0.5\)'):
        wkd_logit_loss(student, teacher, bad)
    with pytest.raises(TypeError, match='torch.Tensor'):
        check_cost_matrix([[0.0]])


def test_input_errors():
    student, teacher, labels = random_problem(4, 6)
    cost = random_cost(6)
    with pytest.raises(ValueError,
                       match=r'labels must lie in \[0, 5\].*\[0, 6\]'):
        wkd_logit_loss(student, teacher, cost, torch.tensor([0, 1, 2, 6]))
    with pytest.raises(ValueError, match=r'\[-1, 2\]'):
        wkd_logit_loss(student, teacher, cost, torch.tensor([0, 1, 2, -1]))
    with pytest.raises(ValueError, match=r'labels must have shape \(4,\)'):
        wkd_logit_loss(student, teacher, cost, labels[:3])
    with pytest.raises(TypeError, match='integer class indices'):
        wkd_logit_loss(student, teacher, cost, labels.float())
    with pytest.raises(
            ValueError,
            match=r'student_logits has shape \(4, 6\) but teacher_logits '
            r'has shape \(4, 7\).*projector'):
        wkd_logit_loss(student, torch.zeros(4, 7), cost)
    with pytest.raises(ValueError, match=r'\[N, num_classes\]'):
        wkd_logit_loss(student[0], teacher[0], cost)
    with pytest.raises(ValueError, match='temperature must be > 0'):
        wkd_logit_loss(student, teacher, cost, temperature=0)
    with pytest.raises(ValueError, match='sinkhorn_reg must be > 0'):
        wkd_logit_loss(student, teacher, cost, sinkhorn_reg=-1.0)
    with pytest.raises(ValueError, match='sinkhorn_iters must be a positive'):
        wkd_logit_loss(student, teacher, cost, sinkhorn_iters=0)
    with pytest.raises(ValueError, match='at least 2 classes'):
        wkd_logit_loss(student[:, :1], teacher[:, :1], cost[:1, :1],
                       labels * 0)


def test_module_from_tensor_pth_npy(tmp_path):
    student, teacher, labels = random_problem(6, 12, seed=9)
    cost = random_cost(12, seed=9)
    expected = wkd_logit_loss(student, teacher, cost, labels,
                              temperature=3.0, wd_weight=2.0)
    torch.save(cost, tmp_path / 'cost.pth')
    np.save(tmp_path / 'cost.npy', cost.numpy())
    for source in (cost, str(tmp_path / 'cost.pth'), tmp_path / 'cost.npy'):
        module = WKDLogitLoss(
            cost_matrix=source, temperature=3.0, wd_weight=2.0,
            loss_weight=0.5)
        torch.testing.assert_close(
            module(student, teacher, labels), 0.5 * expected)
    assert 'cost_matrix' not in module.state_dict()
    assert module.cost_matrix.shape == (12, 12)


def test_module_weight_reduction_and_kappa(tmp_path):
    student, teacher, labels = random_problem(6, 12, seed=10)
    raw = random_cost(12, seed=10)  # stands for a raw 1 - CKA matrix
    module = WKDLogitLoss(cost_matrix=raw, kappa=2.0)
    expected_cost = 1 - torch.exp(-2.0 * raw)
    torch.testing.assert_close(module.cost_matrix, expected_cost)
    per_sample = module(student, teacher, labels, reduction_override='none')
    assert per_sample.shape == (6, )
    torch.testing.assert_close(
        per_sample.mean(),
        wkd_logit_loss(student, teacher, expected_cost, labels))
    weight = torch.arange(6.)
    torch.testing.assert_close(
        module(student, teacher, labels, weight=weight, avg_factor=4.0),
        (per_sample * weight).sum() / 4.0)
    with pytest.raises(ValueError, match='reduction must be one of'):
        module(student, teacher, labels, reduction_override='max')
    with pytest.raises(ValueError, match='cannot load a cost matrix'):
        WKDLogitLoss(cost_matrix=str(tmp_path / 'cost.txt'))
    with pytest.raises(FileNotFoundError):
        WKDLogitLoss(cost_matrix=str(tmp_path / 'missing.pth'))
    with pytest.raises(TypeError, match='file path'):
        WKDLogitLoss(cost_matrix=[[0.0, 1.0], [1.0, 0.0]])


def test_module_deferred_cost_matrix():
    student, teacher, labels = random_problem(3, 5)
    module = WKDLogitLoss()
    with pytest.raises(ValueError, match='has no cost matrix'):
        module(student, teacher, labels)
    with pytest.raises(ValueError, match='must be square'):
        module.set_cost_matrix(torch.zeros(5, 4))
    cost = random_cost(5)
    module.set_cost_matrix(cost)
    torch.testing.assert_close(
        module(student, teacher, labels),
        wkd_logit_loss(student, teacher, cost, labels))
    with pytest.raises(ValueError, match='5x5 but logits have 6'):
        module(torch.zeros(3, 6), torch.zeros(3, 6))
    with pytest.raises(ValueError, match='kappa is given'):
        WKDLogitLoss(kappa=1.0)


def test_official_imagenet_matrix_loads_and_sharpens(official_cost_matrix):
    imagenet_r34 = official_cost_matrix(
        'imagenet/resnet34_logit_linear_cka.pth')
    raw = torch.load(imagenet_r34, map_location='cpu', weights_only=True)
    module = WKDLogitLoss(cost_matrix=imagenet_r34, kappa=1.0)
    cost = module.cost_matrix
    assert cost.shape == (1000, 1000)
    assert cost.device.type == 'cpu'
    assert torch.equal(cost.diagonal(), torch.zeros(1000))
    torch.testing.assert_close(cost, cost.t())
    off = ~torch.eye(1000, dtype=torch.bool)
    torch.testing.assert_close(cost[off], 1 - torch.exp(-raw.float()[off]))
    assert 0.6 < cost[off].min() and cost[off].max() < 0.65
    student, teacher, labels = random_problem(2, 1000)
    assert torch.isfinite(module(student, teacher, labels))
    assert as_cost_matrix(imagenet_r34).shape == (1000, 1000)


def test_registry_build():
    cost = random_cost(4)
    module = MODELS.build(
        dict(type='WKDLogitLoss', cost_matrix=cost, loss_weight=2.0))
    assert isinstance(module, WKDLogitLoss)
    assert module.loss_weight == 2.0
    module = ROOT_MODELS.build(dict(type='mmkd.WKDLogitLoss', temperature=4))
    assert module.cost_matrix is None and module.temperature == 4
