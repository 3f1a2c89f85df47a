# Copyright (c) OpenMMLab. All rights reserved.
"""mmkd's distillation hooks, driven by a minimal stand-in runner."""
import math
import os.path as osp
import sys
from types import SimpleNamespace

import pytest
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'models'))
from cls_helpers import cls_loader  # noqa: E402
from distill_helpers import (NUM_CLASSES, build_distiller,  # noqa: E402
                             packed_batch, setup_mmdet, tiny_detector_cfg)

setup_mmdet()

from mmengine.logging import MessageHub  # noqa: E402

from mmkd.engine.hooks import (CostMatrixHook,  # noqa: E402
                               DistillWeightScheduleHook,
                               StopDistillationHook, StudentCheckpointHook,
                               distill_weight_factor)


def wkd_distiller(**kwargs):
    return build_distiller(
        distill_losses=dict(
            loss_wkd_l=dict(type='mmkd.WKDLogitLoss', wd_weight=4.0),
            loss_kd=dict(type='mmdet.MSELoss')),
        distill_inputs=dict(
            loss_wkd_l='roi_cls',
            loss_kd=dict(source='roi_cls', scheduled=False)),
        **kwargs)


def fake_runner(model, epoch=0, it=0, max_epochs=10, max_iters=100,
                work_dir=None, train_dataloader=None):
    return SimpleNamespace(
        model=model,
        epoch=epoch,
        iter=it,
        max_epochs=max_epochs,
        max_iters=max_iters,
        work_dir=work_dir,
        train_dataloader=train_dataloader,
        message_hub=MessageHub.get_instance('mmkd_test_hooks'))


# ----------------------------------------------------------------------
# weight schedule
# ----------------------------------------------------------------------
def test_cosine_factor_follows_methods_section_4():
    # w(e) = w for e <= E0, then w * 0.5 * (1 + cos(pi (e - E0)/(E - E0)))
    assert distill_weight_factor(0, 10) == 1.0
    assert distill_weight_factor(5, 10) == pytest.approx(0.5)
    assert distill_weight_factor(10, 10) == pytest.approx(0.0)
    assert distill_weight_factor(12, 10) == pytest.approx(0.0)
    for e in range(0, 151):
        assert distill_weight_factor(e, 240, begin=150) == 1.0
    assert distill_weight_factor(195, 240, begin=150) == pytest.approx(0.5)
    assert distill_weight_factor(170, 240, begin=150) == pytest.approx(
        0.5 * (1 + math.cos(math.pi * 20 / 90)))
    assert distill_weight_factor(10, 10, min_ratio=0.1) == pytest.approx(0.1)
    assert distill_weight_factor(3, 10, schedule='constant') == 1.0


def test_linear_warmup_factor():
    assert distill_weight_factor(
        0, 100, schedule='constant', warmup=10) == 0.0
    assert distill_weight_factor(
        5, 100, schedule='constant', warmup=10) == pytest.approx(0.5)
    assert distill_weight_factor(
        0, 100, schedule='constant', warmup=10,
        warmup_ratio=0.2) == pytest.approx(0.2)
    assert distill_weight_factor(
        10, 100, schedule='constant', warmup=10) == 1.0
    # warm-up and cosine multiply
    assert distill_weight_factor(5, 10, warmup=10) == pytest.approx(0.25)


def official_factor(epoch, epochs, decay_start=0):
    """The official WKD weight factor (WKD.py ``forward_train``), written
    out independently: mdistiller's trainer passes ``epoch`` = 1, ...,
    ``epochs`` (``while epoch < EPOCHS + 1``), and the weight decays when
    ``epoch > COSINE_DECAY_EPOCH`` (docs/methods.md section 4)."""
    if epoch > decay_start:
        return 0.5 * (1 + math.cos(
            (epoch - decay_start) / (epochs - decay_start) * math.pi))
    return 1.0


def test_schedule_hook_sets_lambda_from_runner_state():
    model = wkd_distiller()
    hook = DistillWeightScheduleHook(by_epoch=True)
    # runner.epoch 4 is the 5th epoch: 0.5 * (1 + cos(5 pi / 10))
    runner = fake_runner(model, epoch=4, max_epochs=10)
    hook.before_train(runner)
    assert model.distill_losses['loss_wkd_l'].wd_weight == pytest.approx(2.0)
    assert model.get_distill_weight_scale('loss_kd') == 1.0  # not scheduled
    runner.epoch = 0
    hook.before_train_iter(runner, 0)
    first = 0.5 * (1 + math.cos(math.pi / 10))
    assert model.distill_losses['loss_wkd_l'].wd_weight == pytest.approx(
        4.0 * first)
    hist = runner.message_hub.get_scalar('train/distill_weight_scale')
    assert hist.current() == pytest.approx(first)
    # iteration-based, explicit end: runner.iter 19 is the 20th iteration
    hook = DistillWeightScheduleHook(by_epoch=False, begin=10, end=30)
    runner = fake_runner(model, it=19, max_iters=1000)
    hook.before_train(runner)
    assert model.distill_losses['loss_wkd_l'].wd_weight == pytest.approx(2.0)


def test_schedule_hook_counts_epochs_from_one_as_the_official_code():
    model = wkd_distiller()
    hook = DistillWeightScheduleHook(by_epoch=True)
    runner = fake_runner(model, max_epochs=100)
    hook.before_train(runner)
    got = []
    for epoch in range(100):  # MMEngine's 0-based runner.epoch
        runner.epoch = epoch
        hook.before_train_iter(runner, 0)
        got.append(model.distill_losses['loss_wkd_l'].wd_weight / 4.0)
    # official: epochs 1..100, decay from the first one
    want = [official_factor(e, 100) for e in range(1, 101)]
    assert got == pytest.approx(want, abs=1e-12)
    assert got[0] == pytest.approx(0.5 * (1 + math.cos(math.pi / 100)))
    assert got[0] < 1.0
    assert got[-1] == pytest.approx(0.0, abs=1e-12)  # the last epoch: 0
    # CIFAR schedule: constant to 150 of 240, i.e. exactly 150 epochs
    hook = DistillWeightScheduleHook(by_epoch=True, begin=150)
    runner = fake_runner(model, max_epochs=240)
    got = []
    for epoch in range(240):
        runner.epoch = epoch
        got.append(hook.factor(runner))
    assert got == pytest.approx(
        [official_factor(e, 240, 150) for e in range(1, 241)], abs=1e-12)
    assert sum(f == 1.0 for f in got) == 150
    assert got[150] == pytest.approx(0.5 * (1 + math.cos(math.pi / 90)))
    assert got[-1] == pytest.approx(0.0, abs=1e-12)


def test_schedule_hook_warmup_counts_from_one_as_mdistiller():
    # mdistiller's DKD: min(epoch / WARMUP, 1) with epoch = 1, 2, ...
    hook = DistillWeightScheduleHook(
        by_epoch=True, schedule='constant', warmup=4)
    runner = fake_runner(wkd_distiller(), max_epochs=20)
    got = []
    for epoch in range(6):
        runner.epoch = epoch
        got.append(hook.factor(runner))
    assert got == pytest.approx([min((e + 1) / 4, 1.0) for e in range(6)])


def test_schedule_hook_count_from_zero_keeps_the_old_count():
    hook = DistillWeightScheduleHook(by_epoch=True, count_from=0)
    runner = fake_runner(wkd_distiller(), max_epochs=100)
    runner.epoch = 0
    assert hook.factor(runner) == 1.0
    runner.epoch = 99
    assert hook.factor(runner) == pytest.approx(
        0.5 * (1 + math.cos(99 * math.pi / 100)))
    hook = DistillWeightScheduleHook(by_epoch=True, begin=150, count_from=0)
    runner = fake_runner(wkd_distiller(), max_epochs=240)
    constant = 0
    for epoch in range(240):
        runner.epoch = epoch
        constant += hook.factor(runner) == 1.0
    assert constant == 151


def test_schedule_hook_selected_terms():
    model = wkd_distiller()
    hook = DistillWeightScheduleHook(by_epoch=True, terms=['loss_kd'])
    hook._apply(fake_runner(model, epoch=4))  # 5th of 10 epochs
    assert model.get_distill_weight_scale('loss_kd') == pytest.approx(0.5)
    assert model.distill_losses['loss_wkd_l'].wd_weight == 4.0


@pytest.mark.parametrize('kwargs, match', [
    (dict(begin=-1), 'begin must be an int >= 0'),
    (dict(begin=5, end=5), r'end \(5\) must be greater than begin \(5\)'),
    (dict(schedule='linear'), r"schedule must be one of \('cosine', 'constant'\)"),
    (dict(warmup_ratio=1.5), r'warmup_ratio must be in \[0, 1\]'),
    (dict(warmup=2.5), 'warmup must be an int'),
    (dict(count_from=2), 'count_from must be 1'),
    (dict(count_from=True), 'count_from must be 1'),
])
def test_schedule_hook_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DistillWeightScheduleHook(**kwargs)


def test_schedule_hook_needs_a_distiller():
    from mmdet.registry import MODELS
    plain = MODELS.build(tiny_detector_cfg())
    with pytest.raises(TypeError, match='needs a distiller'):
        DistillWeightScheduleHook().before_train(fake_runner(plain))
    with pytest.raises(ValueError, match='the run ends at 3 epochs'):
        DistillWeightScheduleHook(begin=4).before_train(
            fake_runner(wkd_distiller(), max_epochs=3))
    from mmengine.runner import IterBasedTrainLoop
    runner = fake_runner(wkd_distiller())
    runner.train_loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)
    with pytest.raises(ValueError, match='Use by_epoch=False'):
        DistillWeightScheduleHook(by_epoch=True).before_train(runner)


# ----------------------------------------------------------------------
# stop distillation
# ----------------------------------------------------------------------
def test_stop_distillation_hook_is_derived_from_runner_state():
    model = wkd_distiller()
    hook = StopDistillationHook(stop_iter=50)
    runner = fake_runner(model, it=49)
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    assert model.distill_enabled
    runner.iter = 50
    hook.before_train_iter(runner, 0)
    assert not model.distill_enabled
    # resumed before the stop point: on again
    runner.iter = 10
    hook.before_train_iter(runner, 0)
    assert model.distill_enabled
    hook = StopDistillationHook(stop_epoch=2)
    runner = fake_runner(model, epoch=2)
    hook.before_train_iter(runner, 0)
    assert not model.distill_enabled


def test_stop_distillation_hook_arguments():
    with pytest.raises(ValueError, match='exactly one of stop_epoch'):
        StopDistillationHook()
    with pytest.raises(ValueError, match='exactly one of stop_epoch'):
        StopDistillationHook(stop_epoch=1, stop_iter=1)
    with pytest.raises(ValueError, match='stop_iter must be an int >= 0'):
        StopDistillationHook(stop_iter=-3)


# ----------------------------------------------------------------------
# student checkpoints
# ----------------------------------------------------------------------
def test_student_checkpoint_hook_writes_plain_student(tmp_path):
    from mmdet.registry import MODELS
    model = wkd_distiller()
    loader = SimpleNamespace(
        dataset=SimpleNamespace(metainfo=dict(classes=('a', 'b', 'c'))))
    runner = fake_runner(
        model, it=7, work_dir=str(tmp_path), train_dataloader=loader)
    hook = StudentCheckpointHook(save_with_checkpoints=True, by_epoch=False)
    hook.before_train(runner)
    hook.after_train(runner)
    out = tmp_path / 'student_final.pth'
    ckpt = torch.load(out, weights_only=True)  # no mmkd allow-list needed
    assert ckpt['meta']['dataset_meta']['classes'] == ('a', 'b', 'c')
    plain = MODELS.build(tiny_detector_cfg())
    plain.load_state_dict(ckpt['state_dict'], strict=True)
    for k, v in model.student.state_dict().items():
        assert torch.equal(plain.state_dict()[k], v), k
    # with each regular checkpoint
    import numpy as np
    checkpoint = dict(
        meta=dict(epoch=1, iter=8, seed=np.int64(3)),
        state_dict=model.state_dict())
    hook.before_save_checkpoint(runner, checkpoint)
    per_ckpt = torch.load(tmp_path / 'student_iter_8.pth', weights_only=True)
    assert per_ckpt['meta']['seed'] == 3
    assert set(per_ckpt['state_dict']) == set(model.student.state_dict())


def test_student_checkpoint_hook_needs_a_distiller():
    from mmdet.registry import MODELS
    with pytest.raises(TypeError, match='needs a distiller'):
        StudentCheckpointHook().before_train(
            fake_runner(MODELS.build(tiny_detector_cfg())))
    with pytest.raises(ValueError, match='non-empty str'):
        StudentCheckpointHook(filename='')


# ----------------------------------------------------------------------
# cost matrix hook
# ----------------------------------------------------------------------
def test_cost_matrix_hook_builds_caches_and_sets(tmp_path, monkeypatch):
    model = wkd_distiller()
    loader = [
        packed_batch(num_items=[3, 4], cycle_labels=True),
        packed_batch(num_items=[5, 2], cycle_labels=True),
    ]
    runner = fake_runner(model, train_dataloader=loader)
    cost_file = tmp_path / 'cm' / 'cost.pth'
    hook = CostMatrixHook(str(cost_file), num_per_class=4, bg_per_image=4)
    hook.before_train(runner)
    assert cost_file.is_file() and (tmp_path / 'cm' / 'cost.png').is_file()
    cost = model.distill_losses['loss_wkd_l'].cost_matrix
    assert cost.shape == (NUM_CLASSES + 1, NUM_CLASSES + 1)
    from mmkd.apis import load_cost_file
    assert torch.allclose(cost, load_cost_file(str(cost_file)))
    # second run: the cached file is used, nothing is rebuilt
    def fail(*args, **kwargs):
        raise AssertionError('rebuilt')

    import mmkd.apis.cost_matrix as api
    monkeypatch.setattr(api, 'build_detection_cost_matrix', fail)
    other = wkd_distiller()
    CostMatrixHook(str(cost_file), num_per_class=4,
                   bg_per_image=4).before_train(fake_runner(other))
    assert torch.equal(other.distill_losses['loss_wkd_l'].cost_matrix, cost)


def test_cost_matrix_hook_rejects_a_matrix_of_the_wrong_size(tmp_path):
    path = tmp_path / 'wrong.pth'
    torch.save(torch.rand(NUM_CLASSES, NUM_CLASSES), path)
    model = wkd_distiller()
    with pytest.raises(ValueError, match=r'must be \(4, 4\)'):
        CostMatrixHook(str(path)).before_train(fake_runner(model))
    with pytest.raises(ValueError, match='kappa must be > 0'):
        CostMatrixHook(str(path), kappa=0)




@pytest.mark.parametrize('source', ['logits', 'pre_logits'])
def test_cost_matrix_hook_builds_a_classifier_teachers_matrix(
        tmp_path, monkeypatch, source):
    import mmpretrain.models  # noqa: F401

    import mmkd.models.distillers.classification_distiller  # noqa: F401
    from test_classification_distiller import classifier_cfg

    from mmkd.apis import build_classification_cost_matrix
    from mmkd.models import ClassificationDistiller
    torch.manual_seed(0)
    model = ClassificationDistiller(
        student=classifier_cfg(4, num_classes=3),
        teacher=classifier_cfg(8, num_classes=3),
        distill_losses=dict(
            loss_wkd_l=dict(type='mmkd.WKDLogitLoss', cost_matrix=None)),
        distill_inputs=dict(loss_wkd_l='logits'),
        probe_size=None)
    loader = cls_loader()
    labels = []
    import mmkd.apis.cost_io as api
    def plot(cost, out, names):
        labels.append(names)
        open(out, 'wb').close()
        return out

    monkeypatch.setattr(api, 'plot_cost_matrix', plot)
    cost_file = tmp_path / 'cls_cost.pth'
    CostMatrixHook(
        str(cost_file), num_per_class=4, kappa=2.0,
        source=source).before_train(
            fake_runner(model, train_dataloader=loader))
    assert labels == [['cat', 'dog', 'eel']]  # no background class
    cost = model.distill_losses['loss_wkd_l'].cost_matrix
    expected = build_classification_cost_matrix(
        model.teacher, loader, kappa=2.0, num_per_class=4, source=source,
        progress=False)
    assert cost.shape == (3, 3)
    torch.testing.assert_close(cost, expected)
    assert not model.teacher.training


def test_cost_matrix_hook_checks_source(tmp_path):
    with pytest.raises(ValueError, match=r"source must be one of \('logits'"):
        CostMatrixHook(str(tmp_path / 'c.pth'), source='features')
