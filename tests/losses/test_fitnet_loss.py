# Copyright (c) OpenMMLab. All rights reserved.
"""FitNet's MSE against torch's own mse_loss and mmdet's reduction API."""
import pytest
import torch
import torch.nn.functional as F

from mmkd.losses import FitNetLoss, fitnet_loss
from mmkd.losses.contract import loss_contract


def test_equals_torch_mse_and_detaches_the_teacher():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(3, 4, 5, 5, generator=g, requires_grad=True)
    t = torch.randn(3, 4, 5, 5, generator=g, requires_grad=True)
    torch.testing.assert_close(fitnet_loss(s, t), F.mse_loss(s, t))
    loss = FitNetLoss(loss_weight=100.0)(s, t)
    torch.testing.assert_close(loss, 100 * F.mse_loss(s, t))
    loss.backward()
    assert s.grad is not None and t.grad is None


def test_per_image_weight_and_reductions():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    per = ((s - t)**2).mean(1)
    loss = FitNetLoss(reduction='none')
    torch.testing.assert_close(loss(s, t), per)
    w = torch.tensor([1.0, 0.0, 2.0, 1.0])
    torch.testing.assert_close(
        FitNetLoss()(s, t, weight=w, avg_factor=3.0), (per * w).sum() / 3)
    torch.testing.assert_close(
        FitNetLoss()(s, t, reduction_override='sum'), per.sum())
    assert loss_contract(loss).accepts_weight


def test_shape_mismatch_and_bad_reduction():
    with pytest.raises(ValueError, match='same shape'):
        fitnet_loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='reduction'):
        FitNetLoss(reduction='avg')
