# Copyright (c) OpenMMLab. All rights reserved.
"""Categorical distributions over classes + background from sigmoid logits.

One-stage detectors (RetinaNet, GFL, FCOS, ATSS, RTMDet) score every prior
with ``C`` independent sigmoids and have no background logit, while WKD-L,
KD and DKD compare softmax distributions over ``C + 1`` outcomes (the
background last, as in Faster R-CNN's RoI head). These functions turn the
``(M, C)`` sigmoid logits into ``(M, C + 1)`` logits whose softmax is such a
distribution, so those losses run unchanged.

Two constructions are offered; ``'exclusive'`` is the default:

* ``'exclusive'``: the head's own model, conditioned on what detection
  labels say. The head treats the ``C`` classes as independent Bernoullis
  ``b_c ~ Bernoulli(sigmoid(z_c))``; a detection label is one class or
  none (background), i.e. at most one ``b_c`` is on. Conditioning on that
  event gives, up to one normaliser,
  ``p(c) = sigmoid(z_c) * prod_{k != c} (1 - sigmoid(z_k))`` and
  ``p(bg) = prod_k (1 - sigmoid(z_k))``; dividing both by
  ``prod_k (1 - sigmoid(z_k))`` leaves ``exp(z_c)`` and ``1``, so the
  distribution is exactly ``softmax([z_1, ..., z_C, 0])``. So the sigmoid
  logits are the log-odds of each class against background, the
  parametrisation of a softmax head whose background logit is fixed at 0.
  Nothing is clipped or renormalised by hand, it is exact for any logits,
  and it is cheap (one appended column).
* ``'normalized'``: the heuristic alternative to compare with. The scores
  are read as they are used at test time, ``sigmoid(z_c)``, with the
  background getting what the most confident class leaves,
  ``1 - max_c sigmoid(z_c)``, and the ``C + 1`` values renormalised:
  ``p(c) = sigmoid(z_c) / Z``, ``p(bg) = (1 - max sigmoid) / Z``,
  ``Z = sum_c sigmoid(z_c) + 1 - max_c sigmoid(z_c)``. It corresponds to
  no probability model: the classes do not compete (with scores 0.88
  and 0.5 the second class keeps about a third of the mass, against about
  a tenth under ``'exclusive'``, whose odds are ``e^2 : e^0``) and
  ``p(bg)`` ignores every class but the top one. Where all scores are low
  (most priors) the two agree to first order, since ``sigmoid(z) ~ e^z``.

Both return log-probabilities up to an additive constant per row, so any
softmax-based loss sees the intended distribution (at temperature 1; a loss
temperature ``tau`` gives ``p ** (1 / tau)`` renormalised, as for any
logits).
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from mmkd.utils.checks import check_choice

__all__ = ['SIGMOID_CATEGORICAL_MODES', 'sigmoid_to_categorical_logits']

#: The constructions :func:`sigmoid_to_categorical_logits` offers.
SIGMOID_CATEGORICAL_MODES = ('exclusive', 'normalized')


def sigmoid_to_categorical_logits(logits: Tensor,
                                  mode: str = 'exclusive') -> Tensor:
    """Logits over ``C`` classes + background from ``C`` sigmoid logits.

    See the module docstring for the two modes and why ``'exclusive'`` is
    the default. The background is the last column (index ``C``), as in
    mmdet's softmax heads, so labels with background ``= num_classes`` and
    a ``(C + 1, C + 1)`` cost matrix with background last apply as they do
    to Faster R-CNN's RoI logits.

    Args:
        logits (torch.Tensor): Sigmoid logits of shape (M, C), e.g. a dense
            head's ``cls_score`` at M priors.
        mode (str): ``'exclusive'`` (``softmax([z, 0])``, the exact
            categorical of independent Bernoullis conditioned on at most one
            class being on) or ``'normalized'`` (renormalised sigmoid
            scores with ``1 - max`` as background). Defaults to
            ``'exclusive'``.

    Returns:
        torch.Tensor: Shape (M, C + 1), same dtype. For ``'exclusive'`` the
        logits ``[z, 0]``; for ``'normalized'`` the log-probabilities
        (``logsumexp`` over a row is 0).
    """
    check_choice('mode', mode, SIGMOID_CATEGORICAL_MODES)
    if not isinstance(logits, Tensor) or not logits.is_floating_point():
        raise TypeError('logits must be a floating-point torch.Tensor, but '
                        f'got {type(logits).__name__}'
                        f'{getattr(logits, "dtype", "")}.')
    if logits.dim() != 2 or logits.shape[1] < 1:
        raise ValueError('logits must have shape (M, C) with C >= 1, but got '
                         f'{tuple(logits.shape)}; flatten the dense head '
                         'output with permute(0, 2, 3, 1).reshape(-1, C).')
    if mode == 'exclusive':
        return torch.cat([logits, logits.new_zeros(logits.shape[0], 1)], 1)
    # normalized: every term in log space, so scores near 0 or 1 stay exact
    log_fg = F.logsigmoid(logits)  # log sigmoid(z_c)
    log_bg = F.logsigmoid(-logits.max(dim=1, keepdim=True).values)
    log_p = torch.cat([log_fg, log_bg], dim=1)
    return log_p - torch.logsumexp(log_p, dim=1, keepdim=True)
