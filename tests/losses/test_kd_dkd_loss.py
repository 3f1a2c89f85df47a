# Copyright (c) OpenMMLab. All rights reserved.
"""Tests of the KL baselines (KD, DKD) against hand computations."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmkd.losses import DKDLoss, KDLoss, dkd_loss, kd_loss
from mmkd.registry import MODELS


def softmax(row, tau):
    exps = [math.exp(z / tau) for z in row]
    return [e / sum(exps) for e in exps]


def kl(p, q):
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q) if pi > 0)


STUDENT = [[1.0, 2.0, 0.5, -1.0], [0.0, -2.0, 3.0, 1.0]]
TEACHER = [[2.0, 1.0, 0.0, 0.5], [1.0, 0.0, 2.5, -1.0]]
LABELS = [1, 2]


def test_kd_hand_computation():
    tau = 2.0
    expected = sum(
        kl(softmax(t, tau), softmax(s, tau))
        for s, t in zip(STUDENT, TEACHER)) / 2 * tau**2
    ours = kd_loss(torch.tensor(STUDENT), torch.tensor(TEACHER),
                   temperature=tau)
    # Summed over classes (mmdet's kd_loss would also divide by 4).
    assert ours.item() == pytest.approx(expected, rel=1e-6)


def test_kd_zero_for_equal_logits_and_teacher_detached():
    logits = torch.randn(3, 5)
    assert kd_loss(logits, logits, temperature=4.0).abs() < 1e-6
    student = torch.randn(3, 5, requires_grad=True)
    teacher = torch.randn(3, 5, requires_grad=True)
    kd_loss(student, teacher, temperature=4.0).backward()
    assert teacher.grad is None and student.grad is not None


def test_dkd_hand_computation():
    tau, alpha, beta = 2.0, 1.5, 0.25
    total = 0.
    for s, t, y in zip(STUDENT, TEACHER, LABELS):
        p_s, p_t = softmax(s, tau), softmax(t, tau)
        tckd = kl([p_t[y], 1 - p_t[y]], [p_s[y], 1 - p_s[y]])
        others = [k for k in range(4) if k != y]
        nckd = kl(softmax([t[k] for k in others], tau),
                  softmax([s[k] for k in others], tau))
        total += (alpha * tckd + beta * nckd) * tau**2
    ours = dkd_loss(torch.tensor(STUDENT), torch.tensor(TEACHER),
                    torch.tensor(LABELS), alpha=alpha, beta=beta,
                    temperature=tau)
    assert ours.item() == pytest.approx(total / 2, rel=1e-6)


def mdistiller_dkd(logits_student, logits_teacher, target, alpha, beta,
                   temperature):
    """DKD as written in mdistiller (mask by subtracting 1000)."""
    gt_mask = torch.zeros_like(logits_student).scatter_(
        1, target.unsqueeze(1), 1).bool()
    other_mask = ~gt_mask
    pred_student = F.softmax(logits_student / temperature, dim=1)
    pred_teacher = F.softmax(logits_teacher / temperature, dim=1)

    def cat_mask(t):
        t1 = (t * gt_mask).sum(dim=1, keepdims=True)
        t2 = (t * other_mask).sum(1, keepdims=True)
        return torch.cat([t1, t2], dim=1)

    pred_student, pred_teacher = cat_mask(pred_student), cat_mask(
        pred_teacher)
    tckd = (F.kl_div(torch.log(pred_student), pred_teacher,
                     reduction='sum') * temperature**2 / target.shape[0])
    pred_teacher_part2 = F.softmax(
        logits_teacher / temperature - 1000.0 * gt_mask, dim=1)
    log_pred_student_part2 = F.log_softmax(
        logits_student / temperature - 1000.0 * gt_mask, dim=1)
    nckd = (F.kl_div(log_pred_student_part2, pred_teacher_part2,
                     reduction='sum') * temperature**2 / target.shape[0])
    return alpha * tckd + beta * nckd


def test_dkd_matches_mdistiller_values_and_gradients():
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(16, 10, generator=gen, dtype=torch.float64) * 2
    teacher = torch.randn(16, 10, generator=gen, dtype=torch.float64) * 2
    labels = torch.randint(0, 10, (16, ), generator=gen)
    student.requires_grad_()
    ours = dkd_loss(student, teacher, labels, alpha=1.0, beta=8.0,
                    temperature=4.0)
    ref = mdistiller_dkd(student, teacher, labels, 1.0, 8.0, 4.0)
    torch.testing.assert_close(ours, ref)
    grad, = torch.autograd.grad(ours, student)
    ref_grad, = torch.autograd.grad(ref, student)
    torch.testing.assert_close(grad, ref_grad)


def test_modules_and_registry():
    student, teacher = torch.tensor(STUDENT), torch.tensor(TEACHER)
    labels = torch.tensor(LABELS)
    kd = MODELS.build(dict(type='KDLoss', temperature=2.0, loss_weight=3.0))
    assert isinstance(kd, KDLoss)
    torch.testing.assert_close(
        kd(student, teacher), 3.0 * kd_loss(student, teacher,
                                            temperature=2.0))
    per_sample = kd(student, teacher, reduction_override='none')
    assert per_sample.shape == (2, )
    torch.testing.assert_close(
        kd(student, teacher, weight=torch.tensor([1., 0.])), per_sample[0] /
        2)
    dkd = MODELS.build(dict(type='DKDLoss', alpha=2.0, beta=0.5))
    assert isinstance(dkd, DKDLoss) and dkd.temperature == 1.0
    torch.testing.assert_close(
        dkd(student, teacher, labels),
        dkd_loss(student, teacher, labels, alpha=2.0, beta=0.5,
                 temperature=1.0))
    empty = torch.zeros(0, 4, requires_grad=True)
    zero = dkd(empty, torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    zero.backward()
    assert zero.item() == 0 and empty.grad is not None


def test_errors():
    student, teacher = torch.tensor(STUDENT), torch.tensor(TEACHER)
    with pytest.raises(ValueError, match='temperature must be > 0'):
        kd_loss(student, teacher, temperature=0.0)
    with pytest.raises(ValueError, match=r'student_logits has shape \(2, 4\) '
                       r'but teacher_logits has shape \(2, 3\)'):
        kd_loss(student, teacher[:, :3], temperature=1.0)
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 3\]'):
        dkd_loss(student, teacher, torch.tensor([0, 4]), alpha=1, beta=1,
                 temperature=1)
    with pytest.raises(ValueError, match='temperature must be > 0'):
        DKDLoss(temperature=-1)
    with pytest.raises(ValueError, match='reduction must be one of'):
        KDLoss(reduction='avg')
