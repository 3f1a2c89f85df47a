# Copyright (c) OpenMMLab. All rights reserved.
"""A new source, added from outside mmkd as docs/architecture.md shows: one
row in a subclass's ``SOURCES`` table plus its branch of ``_term``. Nothing
under mmkd/ is edited; the subclass trains a step."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from test_classification_distiller import batch, classifier_cfg

from mmkd.losses import DistillLoss
from mmkd.models import ClassificationDistiller
from mmkd.models.distillers import Source


class ProbsDistiller(ClassificationDistiller):
    """Adds ``'probs'``: the softmax of both classifiers' logits."""

    SOURCES = dict(
        ClassificationDistiller.SOURCES,
        probs=Source('softmax probabilities (N, num_classes) of both'))

    def _term(self, name, term, ctx, teacher):
        if term['source'] != 'probs':
            return super()._term(name, term, ctx, teacher)
        s = ctx.student['__logits__'].float().softmax(1)
        t = teacher['__logits__'].float().softmax(1)
        return self._call_loss(name, s, t)


def build(**kwargs):
    torch.manual_seed(0)
    cfg = dict(
        student=classifier_cfg(8),
        teacher=classifier_cfg(16),
        distill_losses=dict(loss_probs=nn.MSELoss()),
        distill_inputs=dict(loss_probs='probs'))
    cfg.update(kwargs)
    return ProbsDistiller(**cfg)


def test_the_new_source_trains_a_step():
    model = build()
    model.train()
    inputs, samples = batch(model)
    with torch.no_grad():
        s = model.student(inputs, mode='tensor').softmax(1)
        t = model.teacher(inputs, mode='tensor').softmax(1)
    before = [p.detach().clone() for p in model.student.parameters()]
    teacher_before = [p.detach().clone() for p in model.teacher.parameters()]

    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'student.loss', 'distill.loss_probs'}
    # the MSE between the two softmaxes (both runs of the student in train
    # mode, so BN uses the same batch statistics)
    torch.testing.assert_close(losses['distill.loss_probs'], F.mse_loss(s, t))

    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(
        dict(inputs=inputs, data_samples=samples), optim)
    assert 'distill.loss_probs' in log_vars
    moved = [not torch.equal(a, b)
             for a, b in zip(before, model.student.parameters())]
    assert all(moved)
    assert all(
        torch.equal(a, b)
        for a, b in zip(teacher_before, model.teacher.parameters()))


def test_the_tables_validate_the_new_source():
    # a key the new row does not take is refused by the shared validator
    with pytest.raises(ValueError,
                       match="'labels' applies to sources 'logits' and "
                       "'pooled', not 'probs'"):
        build(distill_inputs=dict(
            loss_probs=dict(source='probs', labels='hard')))
    with pytest.raises(ValueError, match=r"valid sources: \['logits', "
                       r"'feature', 'pooled', 'probs'\]"):
        build(distill_inputs=dict(loss_probs='prob'))
    # the old sources are untouched
    model = build(
        distill_losses=dict(
            loss_probs=nn.MSELoss(),
            loss_kd=dict(type='mmkd.KDLoss', temperature=2.0)),
        distill_inputs=dict(loss_probs='probs', loss_kd='logits'))
    inputs, samples = batch(model)
    losses = model(inputs, samples, mode='loss')
    assert torch.isfinite(losses['distill.loss_kd'])


def test_the_distiller_passes_what_the_contract_declares():
    """A loss declaring ``accepts_labels = False`` gets no labels, although
    its forward has the argument (the contract, not the signature)."""
    calls = []

    class NoLabels(DistillLoss, nn.Module):

        def forward(self, s, t, labels=None):
            calls.append(labels)
            return (s - t).pow(2).mean()

    class Labels(NoLabels):
        accepts_labels = True

    for loss, gets_labels in ((NoLabels(), False), (Labels(), True)):
        model = build(distill_losses=dict(loss_probs=loss),
                      distill_inputs=dict(loss_probs='logits'))
        inputs, samples = batch(model)
        model(inputs, samples, mode='loss')
        assert (calls[-1] is not None) == gets_labels
