# Copyright (c) OpenMMLab. All rights reserved.
"""tools/train.py, tools/test.py and tools/dist_train.sh on tiny toy data."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmkd.datasets import generate_toy_digits
from mmkd.utils import enable_amp, load_tool_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = osp.join(ROOT, 'configs', 'toy_digits',
                   'faster-rcnn_r18-w16_fpn_toy-digits.py')


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    """The toy student config on 8 + 4 generated images, 2 iterations."""
    tmp = tmp_path_factory.mktemp('tools')
    data = tmp / 'data'
    generate_toy_digits(
        str(data), num_train=8, num_val=4, num_test=2, cls=False, seed=1)
    det = (data / 'det').as_posix() + '/'
    cfg = tmp / 'tiny_student.py'
    cfg.write_text(f"""
_base_ = {STUDENT!r}
train_dataloader = dict(batch_size=2, num_workers=0,
    persistent_workers=False, dataset=dict(data_root={det!r}))
val_dataloader = dict(batch_size=2, num_workers=0,
    persistent_workers=False, dataset=dict(data_root={det!r}))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file={det!r} + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2))
""")
    return cfg, tmp


def _run(args, **kwargs):
    proc = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=600,
        **kwargs)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _last_metrics(work_dir):
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    assert files, f'no metrics json under {work_dir}'
    with open(files[-1]) as f:
        return json.loads(f.read().strip().splitlines()[-1])


@pytest.fixture(scope='module')
def trained(tiny_config):
    cfg, tmp = tiny_config
    work_dir = tmp / 'work'
    _run([sys.executable, 'tools/train.py', str(cfg), '--work-dir',
          str(work_dir)])
    return cfg, work_dir


def test_train_then_test_gives_coco_map(trained):
    cfg, work_dir = trained
    ckpt = work_dir / 'iter_2.pth'
    assert ckpt.exists()
    test_dir = work_dir / 'test'
    _run([sys.executable, 'tools/test.py', str(cfg), str(ckpt),
          '--work-dir', str(test_dir)])
    metrics = _last_metrics(str(test_dir))
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'):
        assert key in metrics, metrics
        assert -1.0 <= metrics[key] <= 1.0


def test_resume_continues_from_checkpoint(trained):
    cfg, work_dir = trained
    proc = _run([
        sys.executable, 'tools/train.py',
        str(cfg), '--work-dir',
        str(work_dir), '--resume', '--cfg-options', 'train_cfg.max_iters=3',
        'train_cfg.val_interval=10', 'default_hooks.checkpoint.interval=3'
    ])
    assert 'resumed epoch: 0, iter: 2' in proc.stdout + proc.stderr
    from mmkd.utils import load_weights_only
    ckpt = load_weights_only(work_dir / 'iter_3.pth')
    assert ckpt['meta']['iter'] == 3


def test_dist_train_two_cpu_processes(tiny_config):
    cfg, tmp = tiny_config
    work_dir = tmp / 'dist'
    env = dict(os.environ, PYTHON=sys.executable, PORT='29517',
               OMP_NUM_THREADS='1')
    proc = _run(['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir',
                 str(work_dir)], env=env)
    out = proc.stdout + proc.stderr
    assert 'Distributed launcher: pytorch' in out
    assert 'Distributed training: True' in out
    assert (work_dir / 'iter_2.pth').exists()


def test_amp_without_gpu_names_the_fix(tiny_config):
    cfg, _ = tiny_config
    loaded = load_tool_config(str(cfg))
    if torch.cuda.is_available():
        pytest.skip('a GPU is present; AMP is supported there')
    with pytest.raises(ValueError, match='--amp needs a GPU'):
        enable_amp(loaded)


def test_config_without_mm_scope_is_refused(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text("model = dict(type='X')\n")
    with pytest.raises(ValueError, match="default_scope='mmdet'"):
        load_tool_config(str(bad))
