# Copyright (c) OpenMMLab. All rights reserved.
"""Categorical distributions over classes + background from sigmoid logits,
against brute-force computations."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from mmkd.losses import (KDLoss, WKDLogitLoss, kd_loss,
                         sigmoid_to_categorical_logits)


def _exclusive_brute_force(logits: torch.Tensor) -> torch.Tensor:
    """Enumerate every on/off pattern of the C independent Bernoullis and
    condition on at most one class being on; background = none on."""
    probs = torch.sigmoid(logits.double())
    num, classes = probs.shape
    out = torch.zeros(num, classes + 1, dtype=torch.float64)
    for row in range(num):
        joint = {}
        for pattern in itertools.product((0, 1), repeat=classes):
            p = 1.0
            for c, on in enumerate(pattern):
                p *= float(probs[row, c]) if on else 1 - float(probs[row, c])
            joint[pattern] = p
        allowed = {k: v for k, v in joint.items() if sum(k) <= 1}
        total = sum(allowed.values())
        for pattern, p in allowed.items():
            index = pattern.index(1) if sum(pattern) else classes
            out[row, index] = p / total
    return out


def test_exclusive_is_the_conditioned_bernoulli_categorical():
    torch.manual_seed(0)
    logits = torch.randn(6, 3, dtype=torch.float64) * 3
    logits[0] = torch.tensor([8.0, -8.0, 0.5])  # one confident class
    logits[1] = torch.tensor([4.0, 4.0, -2.0])  # two classes on
    cat = sigmoid_to_categorical_logits(logits, 'exclusive')
    assert cat.shape == (6, 4)
    assert torch.equal(cat[:, :3], logits) and (cat[:, 3] == 0).all()
    assert torch.allclose(
        F.softmax(cat, dim=1), _exclusive_brute_force(logits), atol=1e-12)


def test_normalized_matches_its_formula():
    torch.manual_seed(1)
    logits = torch.randn(5, 4, dtype=torch.float64) * 2
    log_p = sigmoid_to_categorical_logits(logits, 'normalized')
    sig = torch.sigmoid(logits)
    bg = 1 - sig.max(dim=1).values
    z = sig.sum(dim=1) + bg
    expected = torch.cat([sig / z[:, None], (bg / z)[:, None]], dim=1)
    assert torch.allclose(log_p.exp(), expected, atol=1e-12)
    assert torch.allclose(log_p.exp().sum(1), torch.ones(5,
                                                         dtype=log_p.dtype))
    # log-probs: softmax is the identity on them
    assert torch.allclose(F.softmax(log_p, dim=1), expected, atol=1e-12)


def test_the_two_modes_differ_when_a_second_class_is_likely():
    logits = torch.tensor([[2.0, 0.0, -5.0]])
    exclusive = F.softmax(sigmoid_to_categorical_logits(logits), dim=1)
    normalized = sigmoid_to_categorical_logits(logits, 'normalized').exp()
    # exclusive: odds against the background, e^2 : e^0 : e^-5 : 1, so the
    # second class gets about 0.11; normalized: sigma(0) = 0.5 is taken at
    # face value and gets about 0.33, the background only 1 - sigma(2).
    assert torch.allclose(exclusive[0, 1], torch.tensor(0.1059), atol=1e-3)
    assert torch.allclose(normalized[0, 1], torch.tensor(0.3318), atol=1e-3)
    assert normalized[0, 3] < exclusive[0, 3]


@pytest.mark.parametrize('mode', ['exclusive', 'normalized'])
def test_extreme_logits_stay_finite_with_gradients(mode):
    logits = torch.tensor([[100.0, -100.0], [-100.0, -100.0], [0.0, 50.0]],
                          requires_grad=True)
    out = sigmoid_to_categorical_logits(logits, mode)
    assert torch.isfinite(out).all()
    F.log_softmax(out, dim=1).sum().backward()
    assert torch.isfinite(logits.grad).all()
    # all classes off: (nearly) all mass on the background
    assert F.softmax(out, dim=1)[1, 2] > 0.999


def test_kd_and_wkd_l_run_unchanged_on_the_converted_logits():
    torch.manual_seed(2)
    s, t = torch.randn(7, 3), torch.randn(7, 3)
    s_cat = sigmoid_to_categorical_logits(s)
    t_cat = sigmoid_to_categorical_logits(t)
    value = KDLoss(temperature=2.0)(s_cat, t_cat)
    assert torch.allclose(value, kd_loss(s_cat, t_cat, temperature=2.0))
    cost = torch.rand(4, 4)
    cost = ((cost + cost.t()) / 2).fill_diagonal_(0)
    labels = torch.tensor([0, 1, 2, 3, 3, 3, 0])  # 3 = background
    wkd = WKDLogitLoss(cost_matrix=cost)(s_cat, t_cat, labels=labels)
    assert torch.isfinite(wkd)
    assert WKDLogitLoss(cost_matrix=cost)(t_cat, t_cat) < 1e-6 + \
        WKDLogitLoss(cost_matrix=cost)(s_cat, t_cat)


@pytest.mark.parametrize('logits, mode, error, match', [
    (torch.zeros(2, 3), 'softmax', ValueError,
     r"mode must be one of \('exclusive', 'normalized'\)"),
    (torch.zeros(2, 3, 4), 'exclusive', ValueError, r'shape \(M, C\)'),
    (torch.zeros(2, 3, dtype=torch.long), 'exclusive', TypeError,
     'floating-point'),
])
def test_bad_inputs(logits, mode, error, match):
    with pytest.raises(error, match=match):
        sigmoid_to_categorical_logits(logits, mode)
