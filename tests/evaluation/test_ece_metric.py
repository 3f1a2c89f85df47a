# Copyright (c) OpenMMLab. All rights reserved.
"""ECE / MCE against a hand computation."""
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope

from mmkd.evaluation import (ECEMetric, calibration_errors,
                             expected_calibration_error)
from mmkd.registry import METRICS

# 4 classes, 4 bins: (0, .25], (.25, .5], (.5, .75], (.75, 1].
PROBS = torch.tensor([
    [0.35, 0.25, 0.20, 0.20],  # conf .35, pred 0, label 0: right, bin 1
    [0.10, 0.38, 0.27, 0.25],  # conf .38, pred 1, label 2: wrong, bin 1
    [0.50, 0.30, 0.10, 0.10],  # conf .50 (an edge), right, bin 1
    [0.60, 0.20, 0.10, 0.10],  # conf .60, pred 0, label 1: wrong, bin 2
    [0.90, 0.05, 0.03, 0.02],  # conf .90, right, bin 3
    [0.05, 0.85, 0.05, 0.05],  # conf .85, pred 1, label 3: wrong, bin 3
    [0.02, 0.02, 0.95, 0.01],  # conf .95, right, bin 3
], dtype=torch.float64)
LABELS = torch.tensor([0, 2, 0, 1, 0, 3, 2])
# bin 1: acc 2/3, conf (.35 + .38 + .50) / 3 = .41 -> gap .25666...
# bin 2: acc 0, conf .60 -> gap .6
# bin 3: acc 2/3, conf (.90 + .85 + .95) / 3 = .90 -> gap .23333...
HAND_ECE = (3 * (2 / 3 - 0.41) + 1 * 0.6 + 3 * (0.9 - 2 / 3)) / 7
HAND_MCE = 0.6


def test_ece_and_mce_match_hand_computation():
    errors = calibration_errors(PROBS, LABELS, n_bins=4)
    assert errors.ece.item() == pytest.approx(HAND_ECE, abs=1e-12)
    assert errors.mce.item() == pytest.approx(HAND_MCE, abs=1e-12)
    assert expected_calibration_error(PROBS, LABELS, 4).item() == \
        pytest.approx(HAND_ECE, abs=1e-6)


def test_bins_are_closed_on_the_right():
    """conf = .5 belongs to (.25, .5]; [lo, hi) bins give another ECE."""
    other = (2 * (0.5 - 0.365) + 2 * (0.55 - 0.5) + 3 * (0.9 - 2 / 3)) / 7
    ece = expected_calibration_error(PROBS, LABELS, 4).item()
    assert ece != pytest.approx(other, abs=1e-6)


def test_perfect_and_worst_cases():
    onehot = torch.eye(3)
    labels = torch.tensor([0, 1, 2])
    assert expected_calibration_error(onehot, labels).item() == 0
    errors = calibration_errors(onehot, torch.tensor([1, 2, 0]))
    assert errors.ece.item() == 1 and errors.mce.item() == 1


def test_default_is_15_bins():
    # conf .49 and .52 share a bin with 15 bins ((.4667, .5333]) but not
    # with 10 bins ((.4, .5] and (.5, .6]).
    probs = torch.tensor([[0.49, 0.3, 0.21], [0.52, 0.48, 0.0]],
                         dtype=torch.float64)
    labels = torch.tensor([0, 1])
    shared = abs(0.5 - 0.505)
    assert expected_calibration_error(probs, labels).item() == \
        pytest.approx(shared, abs=1e-9)
    split = ((1 - 0.49) + 0.52) / 2
    assert expected_calibration_error(probs, labels, 10).item() == \
        pytest.approx(split, abs=1e-9)


def test_metric_reports_percent_with_prefix():
    metric = ECEMetric(n_bins=4)
    samples = [
        dict(pred_score=p, gt_label=torch.tensor([int(label)]))
        for p, label in zip(PROBS, LABELS)
    ]
    metric.process(None, samples[:3])
    metric.process(None, samples[3:])
    out = metric.evaluate(len(samples))
    assert set(out) == {'calibration/ece', 'calibration/mce'}
    assert out['calibration/ece'] == pytest.approx(100 * HAND_ECE, abs=1e-4)
    assert out['calibration/mce'] == pytest.approx(100 * HAND_MCE, abs=1e-4)


def test_metric_runs_next_to_accuracy_in_an_mmpretrain_evaluator():
    pytest.importorskip('mmcv')
    from mmpretrain.structures import DataSample
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        evaluator = Evaluator([
            dict(type='Accuracy', topk=(1, )),
            dict(type='mmkd.ECEMetric', n_bins=4)
        ])
    samples = [
        DataSample().set_gt_label(int(label)).set_pred_score(p)
        for p, label in zip(PROBS, LABELS)
    ]
    evaluator.process(samples)
    out = evaluator.evaluate(len(samples))
    assert out['accuracy/top1'] == pytest.approx(400 / 7, abs=1e-4)
    assert out['calibration/ece'] == pytest.approx(100 * HAND_ECE, abs=1e-4)


def test_registered_and_validated():
    assert METRICS.get('ECEMetric') is ECEMetric
    with pytest.raises(ValueError, match='n_bins must be a positive '
                       'integer, but got 0'):
        ECEMetric(n_bins=0)
    with pytest.raises(ValueError, match='apply softmax'):
        calibration_errors(torch.tensor([[2.0, -1.0]]), torch.tensor([0]))
    with pytest.raises(KeyError, match="'pred_score'"):
        ECEMetric().process(None, [dict(gt_label=torch.tensor([0]))])
