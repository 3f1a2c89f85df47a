# Copyright (c) OpenMMLab. All rights reserved.
"""CostMatrixHook: the file's record against the run, ``rebuild``, the
teacher fed as in training, and the matrix kept across a resume."""
import os.path as osp
import sys
from types import SimpleNamespace

import pytest
import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(HERE, '..', 'models'))
from cls_helpers import ClsLoader, cls_distiller, cls_loader  # noqa: E402
from test_distill_hooks import fake_runner  # noqa: E402

from mmkd.apis.cost_io import load_cost_matrix_and_record  # noqa: E402
from mmkd.engine.hooks import CostMatrixHook  # noqa: E402




def _build(tmp_path, model=None, loader=None, **kwargs):
    model = model or cls_distiller()
    hook = CostMatrixHook(
        str(tmp_path / 'cost.pth'), num_per_class=4, heatmap=False,
        **kwargs)
    hook.before_train(
        fake_runner(model, train_dataloader=loader or cls_loader()))
    return model.distill_losses['loss_wkd_l'].cost_matrix


def test_the_file_records_what_it_was_built_from(tmp_path):
    cost = _build(tmp_path, kappa=2.0)
    loaded, record = load_cost_matrix_and_record(str(tmp_path / 'cost.pth'))
    torch.testing.assert_close(loaded, cost)
    assert record['kappa'] == 2.0 and record['num_per_class'] == 4
    assert record['source'] == 'logits'
    assert record['class_names'] == ['cat', 'dog', 'eel']
    assert record['teacher_type'] == 'ImageClassifier'
    assert record['teacher_config'] is None  # given as a dict


@pytest.mark.parametrize('change, field', [
    (dict(kappa=2.0), 'kappa: file 1.0, this run 2.0'),
    (dict(source='pre_logits'), "source: file 'logits', this run"),
    (dict(num_per_class=3), 'num_per_class: file 4, this run 3'),
])
def test_a_file_built_for_other_settings_is_refused(tmp_path, change, field):
    _build(tmp_path)
    args = dict(num_per_class=4, heatmap=False)
    args.update(change)
    hook = CostMatrixHook(str(tmp_path / 'cost.pth'), **args)
    with pytest.raises(ValueError) as info:
        hook.before_train(
            fake_runner(cls_distiller(), train_dataloader=cls_loader()))
    msg = str(info.value)
    assert field in msg and 'cost.pth' in msg
    assert 'Delete the file' in msg and 'rebuild=True' in msg


def test_another_teacher_or_class_list_is_refused(tmp_path):
    _build(tmp_path)
    with pytest.raises(ValueError, match='teacher_weights: file'):
        _build(tmp_path, model=cls_distiller(seed=1))
    renamed = ClsLoader(list(cls_loader()), ('cat', 'dog', 'fox'))
    with pytest.raises(ValueError, match=r"class_names: file \['cat', 'dog', "
                       r"'eel'\], this run \['cat', 'dog', 'fox'\]"):
        _build(tmp_path, loader=renamed)


def test_rebuild_overwrites_a_mismatched_file(tmp_path):
    first = _build(tmp_path)
    second = _build(tmp_path, model=cls_distiller(seed=1), rebuild=True)
    assert not torch.allclose(first, second)
    loaded, record = load_cost_matrix_and_record(str(tmp_path / 'cost.pth'))
    torch.testing.assert_close(loaded, second)
    # the rebuilt file now matches the new teacher: used as is
    torch.testing.assert_close(
        _build(tmp_path, model=cls_distiller(seed=1)), second)


def test_a_matching_file_is_used_without_building(tmp_path, monkeypatch):
    cost = _build(tmp_path)
    import mmkd.engine.hooks.cost_matrix_hook as hook_module

    def fail(*args, **kwargs):
        raise AssertionError('rebuilt')

    monkeypatch.setattr(hook_module, 'build_teacher_cost_matrix', fail)
    torch.testing.assert_close(_build(tmp_path), cost)


def _backbone_inputs(model):
    seen = []
    handle = model.teacher.backbone.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].detach().clone()))
    return seen, handle


def test_the_teacher_sees_what_training_feeds_it(tmp_path):
    """A dict teacher without normalisation under a normalising top-level
    preprocessor (mmpretrain's layout): training gives the teacher the
    student's normalised batch, and so must the cost-matrix build."""
    model = cls_distiller(teacher_preproc=False)
    loader = cls_loader(num_batches=1)
    seen, handle = _backbone_inputs(model)
    try:
        data = model.data_preprocessor(loader[0], True)
        model.set_cost_matrix(torch.ones(3, 3).fill_diagonal_(0))
        model.train()
        model.loss(data['inputs'], data['data_samples'])
        trained = seen[-1]
        seen.clear()
        CostMatrixHook(
            str(tmp_path / 'cost.pth'), num_per_class=2,
            heatmap=False).before_train(
                fake_runner(model, train_dataloader=loader))
        built = seen[0]
    finally:
        handle.remove()
    assert abs(float(trained.mean())) < 1.5  # normalised, not 0-255
    torch.testing.assert_close(built, trained)


# ----------------------------------------------------------------------
# resume
# ----------------------------------------------------------------------
class _Crops(torch.utils.data.Dataset):
    """Six labelled 8x8 crops in mmpretrain's packed format."""
    metainfo = dict(classes=('cat', 'dog', 'eel'))

    def __len__(self):
        return 6

    def __getitem__(self, i):
        from mmpretrain.structures import DataSample
        gen = torch.Generator().manual_seed(i)
        return dict(
            inputs=torch.randint(0, 256, (3, 8, 8), generator=gen).byte(),
            data_samples=DataSample().set_gt_label(i % 3))


def _runner(work_dir, cost_file, record, name, **kwargs):
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    class Record(Hook):

        def after_train_iter(self, runner, batch_idx, data_batch, outputs):
            record.append({k: float(v.detach()) for k, v in outputs.items()})

    return Runner(
        model=cls_distiller(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_Crops(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=3,
            num_workers=0,
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[
            CostMatrixHook(cost_file, num_per_class=2, heatmap=False),
            Record()
        ],
        randomness=dict(seed=0),
        experiment_name=name,
        **kwargs)


@pytest.fixture
def runner_scope():
    """A Runner makes its default scope the global current one; put the
    previous one back afterwards so later tests resolve types as before."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmkd'):
        yield


def test_resume_keeps_the_matrix_when_the_file_is_gone(tmp_path,
                                                       runner_scope):
    # a matrix the teacher would not build (e.g. an official one)
    cost_file = str(tmp_path / 'given_cost.pth')
    given = torch.tensor([[0., .9, .1], [.9, 0., .5], [.1, .5, 0.]])
    torch.save(given, cost_file)
    whole = []
    _runner(tmp_path / 'whole', cost_file, whole, 'resume_whole').train()
    assert len(whole) == 4
    import os
    os.remove(cost_file)
    resumed = []
    runner = _runner(
        tmp_path / 'resumed', cost_file, resumed, 'resume_resumed',
        resume=True, load_from=str(tmp_path / 'whole' / 'epoch_1.pth'))
    runner.train()
    assert len(resumed) == 2
    for a, b in zip(whole[2:], resumed):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-7), key
    model = runner.model
    torch.testing.assert_close(
        model.distill_losses['loss_wkd_l'].cost_matrix, given)
    assert not osp.exists(cost_file)  # not rewritten by the resumed run
    # kept in the checkpoint, beside the weights, never in them
    from mmkd.utils import load_weights_only
    ckpt = load_weights_only(str(tmp_path / 'resumed' / 'epoch_2.pth'))
    stored = ckpt['mmkd_cost_matrices'][cost_file]
    torch.testing.assert_close(stored['cost_matrix'], given)
    assert stored['terms'] == ['loss_wkd_l']
    assert not any('cost' in k for k in ckpt['state_dict'])
    assert not any('cost' in k for k in model.student_state_dict())


def test_load_from_without_resume_does_not_take_the_checkpoint_matrix(
        tmp_path, runner_scope):
    cost_file = str(tmp_path / 'given_cost.pth')
    given = torch.tensor([[0., .9, .1], [.9, 0., .5], [.1, .5, 0.]])
    torch.save(given, cost_file)
    _runner(tmp_path / 'first', cost_file, [], 'load_first').train()
    other = given.flip(0).flip(1)
    torch.save(other, cost_file)
    runner = _runner(
        tmp_path / 'second', cost_file, [], 'load_second',
        load_from=str(tmp_path / 'first' / 'epoch_1.pth'))
    runner.train()
    torch.testing.assert_close(
        runner.model.distill_losses['loss_wkd_l'].cost_matrix, other)


def test_hook_fails_before_building_when_no_term_takes_a_matrix(tmp_path):
    model = cls_distiller(
        distill_losses=dict(loss_wkd_l=dict(type='mmkd.KDLoss')))
    with pytest.raises(ValueError, match='is WKD-L configured'):
        CostMatrixHook(str(tmp_path / 'c.pth')).before_train(
            SimpleNamespace(model=model, iter=0, epoch=0,
                            train_dataloader=None))
    assert not osp.exists(tmp_path / 'c.pth')


class _UnreadableLoader:
    """A training loader the hook may look at (its dataset's classes) but
    must not iterate."""
    dataset = _Crops()

    def __iter__(self):
        raise AssertionError('the hook read the training dataloader')


def test_the_build_reads_a_fresh_loader_not_the_training_one(tmp_path):
    """The build stops part-way through a pass; the training loader's
    sampler must not be left mid-pass (mmdet's AspectRatioBatchSampler keeps
    its unfinished buckets, and the ranks would disagree on epoch 0)."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    built = []

    def build_dataloader(cfg, seed=None):
        built.append(cfg)
        return Runner.build_dataloader(cfg, seed=seed)

    loader_cfg = dict(
        dataset=_Crops(),
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=3,
        num_workers=0,
        persistent_workers=True,
        collate_fn=dict(type='pseudo_collate'))
    runner = SimpleNamespace(
        model=cls_distiller(), iter=0, epoch=0, seed=0,
        cfg=Config(dict(train_dataloader=loader_cfg)),
        train_dataloader=_UnreadableLoader(),
        build_dataloader=build_dataloader)
    CostMatrixHook(str(tmp_path / 'c.pth'), num_per_class=2,
                   heatmap=False).before_train(runner)
    assert len(built) == 1
    assert built[0]['persistent_workers'] is False  # a copy, not the config
    assert runner.cfg.train_dataloader['persistent_workers'] is True
    _, record = load_cost_matrix_and_record(str(tmp_path / 'c.pth'))
    assert record['class_names'] == ['cat', 'dog', 'eel']
    assert record['world_size'] == 1


def test_cost_file_needs_a_pth_name(tmp_path):
    with pytest.raises(ValueError, match=r"give it a '\.pth'"):
        CostMatrixHook(str(tmp_path / 'cost.npy'))


# ----------------------------------------------------------------------
# one-stage detectors
# ----------------------------------------------------------------------
def test_the_hook_builds_a_one_stage_teachers_matrix(tmp_path):
    """SingleStageDistiller: a (C + 1)-square matrix from the teacher head's
    classification features, background last, with a dense record; WKD-L on
    'dense_cls' then trains with it."""
    from distill_helpers import (NUM_CLASSES, packed_batch,
                                 tiny_single_stage_cfg)

    from mmkd.models import SingleStageDistiller
    torch.manual_seed(0)
    model = SingleStageDistiller(
        student=tiny_single_stage_cfg('gfl'),
        teacher=tiny_single_stage_cfg('gfl', base_channels=16),
        distill_losses=dict(
            loss_wkd_l=dict(type='mmkd.WKDLogitLoss', cost_matrix=None)),
        distill_inputs=dict(loss_wkd_l='dense_cls'))
    batches = [
        packed_batch(num_items=[3, 4], cycle_labels=True),
        packed_batch(num_items=[5, 2], cycle_labels=True)
    ]
    loader = ClsLoader(batches, ('a', 'b', 'c'))
    cost_file = tmp_path / 'dense.pth'
    CostMatrixHook(
        str(cost_file), num_per_class=4, bg_per_image=4,
        heatmap=False).before_train(
            fake_runner(model, train_dataloader=loader))
    cost = model.distill_losses['loss_wkd_l'].cost_matrix
    assert cost.shape == (NUM_CLASSES + 1, NUM_CLASSES + 1)
    assert float(cost.diagonal().abs().max()) == 0
    loaded, record = load_cost_matrix_and_record(str(cost_file))
    torch.testing.assert_close(loaded, cost)
    assert record['source'] == 'dense_cls_feat'
    assert record['class_names'] == ['a', 'b', 'c', 'background']
    assert record['teacher_type'] == 'GFL' and record['bg_per_image'] == 4
    data = model.data_preprocessor(batches[0], True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert torch.isfinite(losses['distill.loss_wkd_l'])
    # the file matches the run: a second hook uses it as it is
    other = CostMatrixHook(str(cost_file), num_per_class=4, bg_per_image=4,
                           heatmap=False)
    other.before_train(fake_runner(model, train_dataloader=loader))
    assert other._installed['record'] == record


def test_official_file_is_sharpened_and_nothing_is_written(tmp_path):
    """The released official matrices hold 1 - CKA: with official_file the
    hook sharpens it with kappa instead of building one."""
    one_minus_cka = torch.tensor([[0., 0.5, 0.9], [0.5, 0., 0.7],
                                  [0.9, 0.7, 0.]])
    official = tmp_path / 'linear_cka.pth'
    torch.save(one_minus_cka, official)
    model = cls_distiller()
    cost_file = tmp_path / 'cost.pth'
    hook = CostMatrixHook(
        str(cost_file), kappa=2.0, official_file=str(official))
    hook.before_train(
        SimpleNamespace(model=model, iter=0, epoch=0, train_dataloader=None))
    torch.testing.assert_close(model.distill_losses['loss_wkd_l'].cost_matrix,
                               1 - torch.exp(-2.0 * one_minus_cka))
    assert not cost_file.exists()
