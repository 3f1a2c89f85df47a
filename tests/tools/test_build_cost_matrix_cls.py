# Copyright (c) OpenMMLab. All rights reserved.
"""tools/build_cost_matrix.py on a classifier teacher: the toy digits
classification command of configs/toy_digits_cls/README.md, on generated
crops and an untrained teacher."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLS = osp.join(ROOT, 'configs', 'toy_digits_cls')
DISTILL = osp.join(CLS, 'wkd-l_r18-w16-to-r18-w8_toy-digits-cls.py')
TEACHER = osp.join(CLS, 'resnet18-w16_toy-digits-cls.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    import mmpretrain.models  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmkd.datasets import generate_toy_digits
    from mmkd.models import build_model

    tmp = tmp_path_factory.mktemp('cls_cost_tool')
    generate_toy_digits(
        str(tmp / 'data'), num_cls_train=60, num_cls_val=10, num_cls_test=10,
        det=False,
        cls=True, seed=1)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.manual_seed(0)
        teacher = build_model(
            Config.fromfile(TEACHER).model, 'teacher')
    ckpt = tmp / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    return dict(tmp=tmp, ckpt=ckpt, data=(tmp / 'data' / 'cls').as_posix())


def _run(setup, out, *extra):
    proc = subprocess.run([
        sys.executable, 'tools/build_cost_matrix.py', DISTILL,
        str(out), '--kappa', '1', '--num-per-class', '3', '--num-workers',
        '0', '--device', 'cpu', '--cfg-options',
        f"model.teacher_ckpt={setup['ckpt']}",
        f"train_dataloader.dataset.data_root={setup['data']}",
        'train_dataloader.batch_size=20', *extra
    ], cwd=ROOT, capture_output=True, text=True, timeout=600)
    return proc


@pytest.mark.parametrize('source', ['logits', 'pre_logits'])
def test_build_cost_matrix_tool_on_a_classifier(setup, source):
    out = setup['tmp'] / f'cost_{source}.pth'
    proc = _run(setup, out, '--source', source)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Cost matrix (10, 10)' in proc.stdout
    assert out.is_file() and out.with_suffix('.png').is_file()
    from mmkd.apis.cost_io import load_cost_matrix_and_record
    cost, record = load_cost_matrix_and_record(str(out))
    assert cost.shape == (10, 10)
    assert record['source'] == source and record['num_per_class'] == 3
    assert record['class_names'] == [str(i) for i in range(10)]
    assert record['teacher_ckpt'] == str(setup['ckpt'])
    torch.testing.assert_close(cost, cost.t())
    assert float(cost.diagonal().abs().max()) == 0


def test_bad_source_is_refused(setup):
    proc = _run(setup, setup['tmp'] / 'x.pth', '--source', 'feature_map')
    assert proc.returncode == 2
    assert "invalid choice: 'feature_map'" in proc.stderr
