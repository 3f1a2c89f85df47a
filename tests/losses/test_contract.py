# Copyright (c) OpenMMLab. All rights reserved.
"""The loss contract: what mmkd's losses declare, and the signature check
that undeclared losses (mmdet's, a user's) fall back to."""
import inspect
from typing import Optional

import pytest
import torch
import torch.nn as nn

import mmkd.losses as losses
from mmkd.losses import DistillLoss, LossContract, loss_contract
from mmkd.losses.contract import CONTRACT_FIELDS, _inferred

#: Every loss class mmkd exports, default-constructed.
MMKD_LOSSES = [
    obj for obj in vars(losses).values()
    if inspect.isclass(obj) and issubclass(obj, nn.Module)
]


def test_every_mmkd_loss_is_a_declared_distill_loss():
    assert len(MMKD_LOSSES) >= 8
    for cls in MMKD_LOSSES:
        assert issubclass(cls, DistillLoss), cls.__name__


@pytest.mark.parametrize('cls', MMKD_LOSSES, ids=lambda c: c.__name__)
def test_declarations_agree_with_the_signatures(cls):
    """A declaration that contradicts ``forward`` (a labels argument left
    undeclared, a weight declared but not taken) fails here."""
    loss = cls()
    declared = loss_contract(loss)
    inferred = LossContract(
        **{f: _inferred(loss, f)
           for f in CONTRACT_FIELDS})
    assert declared == inferred, cls.__name__


def test_the_declarations_of_wkd_l_and_kddm():
    assert loss_contract(losses.WKDLogitLoss()) == LossContract(
        accepts_labels=True,
        accepts_weight=True,
        scheduled_attr='wd_weight',
        holds_cost_matrix=True)
    assert loss_contract(losses.DKDLoss()).requires_labels
    # KDDM's needs depend on its metric (properties)
    assert not loss_contract(losses.KDDMLoss()).requires_labels
    cw2 = loss_contract(losses.KDDMLoss(conditional=True))
    assert cw2.requires_labels and cw2.accepts_labels
    jw2 = loss_contract(losses.KDDMLoss(metric='joint_wasserstein'))
    assert jw2.requires_logits and not jw2.accepts_weight


class _Plain(nn.Module):

    def forward(self, s, t):
        return (s - t).pow(2).mean()


class _WithLabels(nn.Module):
    wd_weight = 3.0

    def forward(self, s, t, labels):
        return (s - t).pow(2).mean()


class _Kwargs(nn.Module):

    def forward(self, s, t, **kwargs):
        return (s - t).pow(2).mean()


class _Weighted(nn.Module):
    requires_logits = True  # a declared field is honoured as is

    def set_cost_matrix(self, cost):
        self.cost = cost

    def forward(self, s, t, weight: Optional[torch.Tensor] = None,
                labels=None):
        return (s - t).pow(2).mean()


@pytest.mark.parametrize('loss, expected', [
    (_Plain(), LossContract()),
    (_WithLabels(),
     LossContract(accepts_labels=True, requires_labels=True,
                  scheduled_attr='wd_weight')),
    (_Kwargs(), LossContract(accepts_labels=True, accepts_weight=True)),
    (_Weighted(),
     LossContract(accepts_labels=True, accepts_weight=True,
                  requires_logits=True, holds_cost_matrix=True)),
    (nn.MSELoss(), LossContract()),
])
def test_undeclared_losses_fall_back_to_the_signature(loss, expected):
    assert loss_contract(loss) == expected


def test_mmdet_losses_fall_back_to_their_signatures():
    pytest.importorskip('mmdet')
    from mmdet.models.losses import KnowledgeDistillationKLDivLoss, MSELoss
    for loss in (MSELoss(), KnowledgeDistillationKLDivLoss()):
        assert loss_contract(loss) == LossContract(accepts_weight=True)


def test_a_declaration_wins_over_the_signature():
    """An mmkd-style loss that declares it takes no labels gets none, even
    though its forward has the argument."""

    class NoLabels(DistillLoss, nn.Module):

        def forward(self, s, t, labels=None):
            assert labels is None
            return (s - t).pow(2).mean()

    assert loss_contract(NoLabels()) == LossContract()
