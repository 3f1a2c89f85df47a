# Copyright (c) OpenMMLab. All rights reserved.
"""tools/build_cost_matrix.py on a one-stage (GFL) teacher, and
tools/train.py building the same matrix with CostMatrixHook: generated toy
digits, an untrained toy GFL teacher saved as a checkpoint."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = osp.join(ROOT, 'configs', 'toy_digits')
TEACHER = osp.join(TOY, 'gfl_r50-w32_fpn_toy-digits.py')
WKD_L = osp.join(TOY, 'gfl_r50-w32-to-r18-w16_fpn_wkd-l_toy-digits.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmkd.datasets import generate_toy_digits
    from mmkd.models import build_model

    tmp = tmp_path_factory.mktemp('dense_cost_tool')
    generate_toy_digits(
        str(tmp / 'data'), num_train=24, num_val=4, num_test=2, cls=False,
        seed=1)
    with DefaultScope.overwrite_default_scope('mmdet'):
        torch.manual_seed(0)
        teacher = build_model(
            Config.fromfile(TEACHER).model, 'teacher')
    ckpt = tmp / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    return dict(tmp=tmp, ckpt=ckpt,
                data=(tmp / 'data' / 'det').as_posix() + '/')


def _loader_options(setup, name='train_dataloader'):
    return [
        f"{name}.dataset.data_root={setup['data']}", f'{name}.batch_size=4',
        f'{name}.num_workers=0', f'{name}.persistent_workers=False'
    ]


def _run(args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env=ENV)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_the_tool_builds_a_one_stage_teachers_matrix(setup):
    out = setup['tmp'] / 'gfl_cost.pth'
    log = _run([
        'tools/build_cost_matrix.py', TEACHER,
        str(out), '--checkpoint',
        str(setup['ckpt']), '--num-per-class', '2', '--bg-per-image', '4',
        '--device', 'cpu', '--cfg-options', *_loader_options(setup)
    ])
    assert 'Cost matrix (11, 11)' in log
    assert out.is_file() and out.with_suffix('.png').is_file()
    from mmkd.apis.cost_io import load_cost_matrix_and_record
    cost, record = load_cost_matrix_and_record(str(out))
    torch.testing.assert_close(cost, cost.t())
    assert float(cost.diagonal().abs().max()) == 0
    assert record['source'] == 'dense_cls_feat'
    assert record['teacher_type'] == 'GFL'
    assert record['class_names'] == [str(i) for i in range(10)] + [
        'background'
    ]
    assert record['num_per_class'] == 2 and record['bg_per_image'] == 4


@pytest.mark.slow
def test_training_builds_it_with_the_hook_and_accepts_the_tools_file(setup):
    """tools/train.py with the toy GFL WKD-L config: the hook builds the
    matrix before the first step; the tool's file for the same teacher and
    settings has the same record, so a run would take it as its own."""
    work = setup['tmp'] / 'work'
    cost_file = setup['tmp'] / 'hook_cost.pth'
    log = _run([
        'tools/train.py', WKD_L, '--work-dir',
        str(work), '--cfg-options', f"model.teacher_ckpt={setup['ckpt']}",
        f'custom_hooks.0.cost_file={cost_file}',
        'custom_hooks.0.num_per_class=2', 'custom_hooks.0.bg_per_image=4',
        'custom_hooks.1.by_epoch=False', 'train_cfg.max_iters=2',
        'default_hooks.logger.interval=1', 'val_dataloader=None',
        'val_cfg=None', 'val_evaluator=None', *_loader_options(setup)
    ])
    assert 'Built the cost matrix (11, 11)' in log
    assert 'distill.loss_wkd_l' in log
    tool_file = setup['tmp'] / 'tool_cost.pth'
    _run([
        'tools/build_cost_matrix.py', WKD_L,
        str(tool_file), '--num-per-class', '2', '--bg-per-image', '4',
        '--device', 'cpu', '--cfg-options',
        f"model.teacher_ckpt={setup['ckpt']}", *_loader_options(setup)
    ])
    from mmkd.apis.cost_io import load_cost_matrix_and_record
    from mmkd.apis.cost_record import record_mismatch
    hook_cost, hook = load_cost_matrix_and_record(str(cost_file))
    tool_cost, tool = load_cost_matrix_and_record(str(tool_file))
    assert record_mismatch(tool, hook) is None
    torch.testing.assert_close(tool_cost, hook_cost)
