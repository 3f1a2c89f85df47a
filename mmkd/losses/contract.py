# Copyright (c) OpenMMLab. All rights reserved.
"""What a distillation loss receives from a distiller, declared once.

A distiller calls every term as ``loss(student, teacher, **extra)``. Which
``extra`` arguments a loss takes, and which distiller services it uses, is
its *contract*:

==================  =========================================================
field               meaning
==================  =========================================================
accepts_labels      ``forward`` takes ``labels`` (class indices of the
                    samples; background ``= num_classes`` for detection)
requires_labels     ``labels`` must be given (a term may not pass none)
accepts_weight      ``forward`` takes ``weight`` and ``avg_factor``
                    (mmdet's convention: a weighted mean over samples)
requires_logits     ``forward`` needs ``logits_s`` and ``logits_t``
                    (e.g. KDDM's joint feature-label metric)
scheduled_attr      the attribute a weight schedule scales instead of the
                    whole term (``'wd_weight'``: WKD-L's lambda, so its
                    target term keeps its weight); None scales the term
holds_cost_matrix   the loss has ``set_cost_matrix`` and a ``cost_matrix``
                    (WKD-L), which the cost-matrix hook fills
==================  =========================================================

mmkd's losses declare it with the :class:`DistillLoss` mixin (class
attributes, or properties where the answer depends on the configuration).
Any other loss (mmdet's, mmpretrain's, a user's) works too: for each field it
does not declare, :func:`loss_contract` reads its ``forward`` signature and
attributes, which is what distillers did before the contract existed.
"""
import inspect
from dataclasses import dataclass, fields
from typing import Optional

import torch.nn as nn

__all__ = ['DistillLoss', 'LossContract', 'loss_contract']


@dataclass(frozen=True)
class LossContract:
    """A loss's contract with the distillers (see the module docstring)."""
    accepts_labels: bool = False
    requires_labels: bool = False
    accepts_weight: bool = False
    requires_logits: bool = False
    scheduled_attr: Optional[str] = None
    holds_cost_matrix: bool = False


#: The contract's field names.
CONTRACT_FIELDS = tuple(f.name for f in fields(LossContract))


class DistillLoss:
    """Mixin of mmkd's losses: the contract fields as class attributes, with
    the defaults of :class:`LossContract` (a loss that takes the two tensors
    and nothing else). A loss overrides what differs, e.g.
    ``accepts_weight = True``."""


# The mixin's defaults are the contract's, written in one place.
for _field in fields(LossContract):
    setattr(DistillLoss, _field.name, _field.default)


def _inferred(loss: nn.Module, field: str):
    """One field from the signature and attributes (undeclared losses)."""
    try:
        params = inspect.signature(loss.forward).parameters
    except (TypeError, ValueError):
        params = {}
    var_kw = any(p.kind == p.VAR_KEYWORD for p in params.values())
    if field == 'accepts_labels':
        return 'labels' in params or var_kw
    if field == 'accepts_weight':
        return 'weight' in params or var_kw
    if field == 'requires_labels':
        labels = params.get('labels')
        return labels is not None and labels.default is inspect.Parameter.empty
    if field == 'scheduled_attr':
        value = getattr(loss, 'wd_weight', None)
        numeric = isinstance(value, (int, float)) and not isinstance(
            value, bool)
        return 'wd_weight' if numeric else None
    if field == 'holds_cost_matrix':
        return callable(getattr(loss, 'set_cost_matrix', None))
    return False  # requires_logits


def loss_contract(loss: nn.Module) -> LossContract:
    """The contract of ``loss``: what it declares, the rest inferred.

    Args:
        loss (nn.Module): A distillation loss.

    Returns:
        LossContract: Its contract.
    """
    values = {}
    for field in CONTRACT_FIELDS:
        declared = getattr(loss, field, None)
        if field == 'scheduled_attr':
            known = isinstance(loss, DistillLoss) or isinstance(declared, str)
        else:
            known = isinstance(declared, bool)
        values[field] = declared if known else _inferred(loss, field)
    return LossContract(**values)
