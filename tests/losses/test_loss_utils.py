# Copyright (c) OpenMMLab. All rights reserved.
"""Tests of the shared loss helpers."""
import math

import pytest
import torch

from mmkd.losses import weight_reduce_loss
from mmkd.losses.utils import graph_zero


def test_weight_reduce_loss():
    loss = torch.tensor([1., 2., 3., 4.])
    weight = torch.tensor([1., 0., 1., 0.5])
    assert weight_reduce_loss(loss).item() == 2.5
    assert weight_reduce_loss(loss, reduction='sum').item() == 10
    torch.testing.assert_close(
        weight_reduce_loss(loss, weight, reduction='none'),
        torch.tensor([1., 0., 3., 2.]))
    assert weight_reduce_loss(loss, weight).item() == 1.5
    assert weight_reduce_loss(loss, weight,
                              avg_factor=3).item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match='avg_factor can not be used'):
        weight_reduce_loss(loss, reduction='sum', avg_factor=2)
    with pytest.raises(ValueError, match="reduction must be one of"):
        weight_reduce_loss(loss, reduction='max')
    with pytest.raises(ValueError, match='one weight per sample'):
        weight_reduce_loss(loss, torch.ones(4, 2))


def test_empty_loss_is_graph_connected_zero():
    pred = torch.zeros(0, requires_grad=True)
    out = weight_reduce_loss(pred * 2)
    assert out.item() == 0 and out.requires_grad
    out.backward()
    assert pred.grad is not None


@pytest.mark.parametrize('bad', [math.inf, -math.inf, math.nan])
def test_graph_zero_is_an_exact_finite_zero_next_to_nonfinite_values(bad):
    # ``x.sum() * 0`` is NaN here; AMP overflows produce exactly this.
    x = torch.tensor([[1., bad], [3., 4.]],
                     dtype=torch.bfloat16).t().requires_grad_()
    w = torch.ones(3, requires_grad=True)
    out = graph_zero(x, w)
    assert out.dtype == torch.float32 and out.requires_grad
    assert torch.isfinite(out) and out.item() == 0
    (out * 5).backward()
    assert torch.equal(x.grad, torch.zeros_like(x))
    assert torch.equal(w.grad, torch.zeros(3))
    assert graph_zero(x, dtype=torch.float64).dtype == torch.float64
    assert graph_zero(x.double()).dtype == torch.float64
    with pytest.raises(ValueError, match='at least one tensor'):
        graph_zero()
