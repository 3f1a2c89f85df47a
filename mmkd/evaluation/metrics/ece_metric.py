# Copyright (c) OpenMMLab. All rights reserved.
"""Expected and maximum calibration error (Guo et al., 2017).

The confidence of a prediction is its maximum softmax probability. The
confidences are split into ``n_bins`` equal-width bins over [0, 1]; bin
``b`` holds the confidences in ``(b / n_bins, (b + 1) / n_bins]`` (the
first bin also holds 0). With ``acc_b`` the accuracy and ``conf_b`` the
mean confidence of the ``n_b`` predictions in bin ``b``:

* ``ECE = sum_b (n_b / N) * |acc_b - conf_b|``
* ``MCE = max_b |acc_b - conf_b|`` over the non-empty bins.
"""
from typing import Dict, List, NamedTuple, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from torch import Tensor

from mmkd.registry import METRICS
from mmkd.utils.checks import check_int

__all__ = [
    'CalibrationErrors', 'ECEMetric', 'calibration_errors',
    'expected_calibration_error'
]


class CalibrationErrors(NamedTuple):
    """ECE and MCE as fractions in [0, 1] (0-dim float64 tensors)."""
    ece: Tensor
    mce: Tensor


def calibration_errors(probs: Tensor,
                       labels: Tensor,
                       n_bins: int = 15) -> CalibrationErrors:
    """ECE and MCE of class probabilities.

    Args:
        probs (torch.Tensor): Predicted probabilities of shape (N, C), rows
            summing to 1 (softmax outputs, not logits).
        labels (torch.Tensor): Ground-truth class indices of shape (N, ).
        n_bins (int): Number of equal-width confidence bins. Defaults to
            15.

    Returns:
        CalibrationErrors: ``ece`` and ``mce`` as fractions (0 for an
        empty input).
    """
    check_int('n_bins', n_bins)
    if probs.dim() != 2:
        raise ValueError(f'probs must have shape (N, num_classes), got '
                         f'{tuple(probs.shape)}')
    if labels.dim() != 1 or labels.shape[0] != probs.shape[0]:
        raise ValueError(f'labels must have shape ({probs.shape[0]},), got '
                         f'{tuple(labels.shape)}')
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f'labels must be integer class indices, got dtype '
                        f'{labels.dtype}')
    probs = probs.detach().to(torch.float64)
    zero = torch.zeros((), dtype=torch.float64, device=probs.device)
    if probs.shape[0] == 0:
        return CalibrationErrors(zero, zero.clone())
    if probs.min() < 0 or (probs.sum(dim=1) - 1).abs().max() > 1e-3:
        raise ValueError('probs must be probabilities (non-negative rows '
                         'summing to 1); apply softmax to logits first')
    confidence, prediction = probs.max(dim=1)
    correct = (prediction == labels.to(probs.device)).to(torch.float64)
    inner_edges = torch.linspace(
        0, 1, n_bins + 1, dtype=torch.float64, device=probs.device)[1:-1]
    # bucketize(right=False): edges[b - 1] < conf <= edges[b].
    bins = torch.bucketize(confidence, inner_edges, right=False)
    count = torch.zeros(n_bins, dtype=torch.float64, device=probs.device)
    count.index_add_(0, bins, torch.ones_like(confidence))
    conf_sum = torch.zeros_like(count).index_add_(0, bins, confidence)
    acc_sum = torch.zeros_like(count).index_add_(0, bins, correct)
    filled = count > 0
    gap = (acc_sum[filled] - conf_sum[filled]).abs() / count[filled]
    ece = (gap * count[filled]).sum() / probs.shape[0]
    return CalibrationErrors(ece, gap.max())


def expected_calibration_error(probs: Tensor,
                               labels: Tensor,
                               n_bins: int = 15) -> Tensor:
    """Expected calibration error, see :func:`calibration_errors`.

    Args:
        probs (torch.Tensor): Probabilities of shape (N, C).
        labels (torch.Tensor): Class indices of shape (N, ).
        n_bins (int): Number of equal-width confidence bins. Defaults to
            15.

    Returns:
        torch.Tensor: ECE as a fraction in [0, 1].
    """
    return calibration_errors(probs, labels, n_bins).ece


@METRICS.register_module()
class ECEMetric(BaseMetric):
    """Expected (and maximum) calibration error for mmpretrain evaluators.

    Reads ``pred_score`` (the softmax scores mmpretrain classifiers put in
    their predictions) and ``gt_label`` of each data sample. Reports
    ``{prefix}/ece`` and ``{prefix}/mce`` in percent, like mmpretrain's
    ``Accuracy``. Usable next to it::

        val_evaluator = [
            dict(type='Accuracy', topk=(1, )),
            dict(type='mmkd.ECEMetric', n_bins=15),
        ]

    Args:
        n_bins (int): Number of equal-width confidence bins. Defaults to
            15.
        collect_device (str): Device used to collect results across
            ranks, ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to
            None (``'calibration'``).
    """
    default_prefix: Optional[str] = 'calibration'

    def __init__(self,
                 n_bins: int = 15,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        check_int('n_bins', n_bins)
        self.n_bins = n_bins

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store the scores and labels of one batch.

        Args:
            data_batch: The batch from the dataloader (unused).
            data_samples (Sequence[dict]): The model's predictions as dicts
                with ``pred_score`` (C, ) and ``gt_label`` (1, ).
        """
        for sample in data_samples:
            if 'pred_score' not in sample:
                raise KeyError(
                    'ECEMetric needs the predicted probabilities '
                    "('pred_score') of each sample, but got keys "
                    f'{sorted(sample)}; use a classifier whose predict() '
                    'sets pred_score (mmpretrain heads do)')
            if 'gt_label' not in sample:
                raise KeyError('ECEMetric needs the ground-truth '
                               "'gt_label' of each sample, but got keys "
                               f'{sorted(sample)}')
            self.results.append(
                dict(
                    pred_score=sample['pred_score'].detach().cpu(),
                    gt_label=sample['gt_label'].detach().cpu().reshape(-1)
                    [:1]))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute ECE and MCE (in percent) over all stored results.

        Args:
            results (list[dict]): The output of :meth:`process`.

        Returns:
            dict[str, float]: ``{'ece': ..., 'mce': ...}``.
        """
        probs = torch.stack([r['pred_score'] for r in results])
        labels = torch.cat([r['gt_label'] for r in results]).long()
        errors = calibration_errors(probs, labels, self.n_bins)
        return dict(ece=100 * errors.ece.item(), mce=100 * errors.mce.item())
