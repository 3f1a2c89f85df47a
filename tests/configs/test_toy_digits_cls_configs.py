# Copyright (c) OpenMMLab. All rights reserved.
"""The toy digits classification configs build and train one step (no
teacher checkpoint or cost matrix file needed)."""
import copy
import glob
import importlib
import os.path as osp

import pytest
import torch
from kddm_variants import KDDM
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'toy_digits_cls')
CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))


@pytest.fixture(scope='module', autouse=True)
def _register():
    import mmpretrain.models  # noqa: F401


def _build(name: str):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    for module in cfg.custom_imports.imports:
        importlib.import_module(module)
    model_cfg = copy.deepcopy(cfg.model)
    if 'teacher' in model_cfg:
        assert model_cfg.teacher_ckpt.startswith('work_dirs/toy_cls/')
        model_cfg.teacher_ckpt = None
        for loss in model_cfg.distill_losses.values():
            if 'cost_matrix' in loss:
                assert loss.cost_matrix == cfg.cost_matrix
                loss.cost_matrix = torch.ones(10, 10).fill_diagonal_(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        torch.manual_seed(0)
        return cfg, MODELS.build(model_cfg)


def test_all_methods_are_there():
    stems = {n.split('_')[0] for n in CONFIGS}
    assert {'kd', 'dkd', 'wkd-l', 'wkd-f', 'wkd-lf', 'distill',
            'resnet18-w8', 'resnet18-w16'} <= stems
    assert set(KDDM) <= stems


@pytest.mark.parametrize('stem', list(KDDM))
def test_kddm_configs_match_the_slides_table(stem):
    cfg, model = _build(f'{stem}_r18-w16-to-r18-w8_toy-digits-cls.py')
    loss = model.distill_losses.loss_kddm
    assert (type(loss).__name__, loss.metric, loss.conditional) == (
        'KDDMLoss', *KDDM[stem])
    assert model.distill_inputs['loss_kddm']['source'] == 'pooled'
    assert model.connectors.fc.in_channels == 64
    assert model.connectors.fc.out_channels == 128
    # fine-tuned from the trained student, like the control config
    control = Config.fromfile(
        osp.join(CONFIG_DIR, 'resnet18-w8-ft_toy-digits-cls.py'))
    init = cfg.model.student.init_cfg
    assert init == control.model.init_cfg
    assert (init.type, init.checkpoint) == (
        'Pretrained', 'work_dirs/toy_cls/student/epoch_20.pth')


@pytest.mark.parametrize('name', CONFIGS)
def test_builds_and_trains_one_step(name):
    from mmpretrain.structures import DataSample
    cfg, model = _build(name)
    assert cfg.randomness.seed == 0
    data = dict(
        inputs=[torch.randint(0, 256, (3, 32, 32)).byte() for _ in range(4)],
        data_samples=[DataSample().set_gt_label(i) for i in range(4)])
    data = model.data_preprocessor(data, True)
    model.train()
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total.detach())
    total.backward()
    if 'teacher' in cfg.model:
        names = set(cfg.model.distill_losses)
        assert set(losses) == {'student.loss'} | {
            f'distill.{n}' for n in names}
        # the student is 4x smaller than the teacher
        n_s = sum(p.numel() for p in model.student.parameters())
        n_t = sum(p.numel() for p in model.teacher.parameters())
        assert n_t > 3.5 * n_s
