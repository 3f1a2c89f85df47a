# Copyright (c) OpenMMLab. All rights reserved.
"""An official CIFAR-100 config, unedited except ``--cfg-options``, through
mmpretrain's own ``tools/train.py`` and ``tools/test.py`` on a tiny
CIFAR-100 in its real layout (``cifar-100-python/{train,test,meta}``
pickles), with the teacher in the shared ``{'model': ...}`` file format:
the matrix is built by the hook from the teacher's feature maps, the terms
are finite, and the exported student evaluates with the plain student
config. The same for an across-architecture config (ViT-S -> ResNet18 at
224 px) with a teacher checkpoint in MMEngine's format.

mmpretrain's CIFAR100 dataset checks the MD5 sums of the real files, which
no tiny set can match: the tools run with those two sums set to None, in
their own process, and nothing else changed.
"""
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG_DIR = osp.join(ROOT, 'configs', 'cifar100')
CONFIG = osp.join(CFG_DIR,
                  'wkd-lf_resnet32x4-to-resnet8x4_1xb64-240e_cifar100.py')
STUDENT = osp.join(CFG_DIR, 'resnet8x4_1xb64-240e_cifar100.py')

pytestmark = pytest.mark.slow

#: Runs an mmpretrain tool as ``python tools/<x>.py ...`` would, without
#: the MD5 check of the real CIFAR-100 files.
RUNNER = '''
import runpy, sys
from mmpretrain.datasets import CIFAR100
CIFAR100.train_list = [[name, None] for name, _ in CIFAR100.train_list]
CIFAR100.test_list = [[name, None] for name, _ in CIFAR100.test_list]
CIFAR100.meta = dict(CIFAR100.meta, md5=None)
tool = sys.argv.pop(1)
sys.argv[0] = tool
runpy.run_path(tool, run_name='__main__')
'''


def _write_cifar100(root, num_train, num_test):
    """The pickles of the CIFAR-100 python release: uint8 rows of 3072
    (channel-major 32 x 32), fine and coarse labels, and the meta file."""
    folder = osp.join(root, 'cifar-100-python')
    os.makedirs(folder)
    rng = np.random.default_rng(0)
    for name, num in (('train', num_train), ('test', num_test)):
        labels = [i % 100 for i in range(num)]
        entry = dict(
            data=rng.integers(0, 256, (num, 3072), dtype=np.uint8),
            fine_labels=labels,
            coarse_labels=[label // 5 for label in labels],
            filenames=[f'{name}_{i}.png' for i in range(num)])
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump(entry, f)
    meta = dict(
        fine_label_names=[f'class_{i}' for i in range(100)],
        coarse_label_names=[f'super_{i}' for i in range(20)])
    with open(osp.join(folder, 'meta'), 'wb') as f:
        pickle.dump(meta, f)


def _crd_teacher(path):
    """A randomly initialised resnet32x4 saved as the shared teachers are:
    ``{'epoch', 'model' (official keys), 'accuracy', 'optimizer'}``."""
    import mmpretrain.models  # noqa: F401
    from mmpretrain.registry import MODELS

    import mmkd.models.backbones  # noqa: F401
    from mmkd.models.backbones import cifar_classifier_cfg, mmkd_to_official
    torch.manual_seed(0)
    teacher = MODELS.build(cifar_classifier_cfg('resnet32x4'))
    optim = torch.optim.SGD(teacher.parameters(), lr=0.05, momentum=0.9)
    torch.save(
        dict(
            epoch=240,
            model=mmkd_to_official(teacher.state_dict(), 'resnet32x4'),
            accuracy=torch.tensor(79.42),
            optimizer=optim.state_dict()), path)


def _tool(name, cwd, *args):
    tool = osp.join(
        osp.dirname(__import__('mmpretrain').__file__), '.mim', 'tools',
        f'{name}.py')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', RUNNER, tool, *args],
                          cwd=cwd, capture_output=True, text=True,
                          timeout=900, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out


def _loaders(*names):
    return [
        opt for name in names for opt in (f'{name}.batch_size=20',
                                          f'{name}.num_workers=0',
                                          f'{name}.persistent_workers=False')
    ]


def test_official_wkd_lf_config_through_mmpretrains_tools(tmp_path):
    _write_cifar100(str(tmp_path / 'data' / 'cifar100'), 100, 40)
    teacher = tmp_path / 'ckpt_epoch_240.pth'
    _crd_teacher(str(teacher))
    out = _tool(
        'train', str(tmp_path), CONFIG, '--work-dir', 'work',
        '--cfg-options', f'model.teacher_ckpt={teacher}',
        'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
        # one image per class: 64 positions of its 8 x 8 map
        'custom_hooks.0.num_per_class=64',
        'custom_hooks.0.cost_file=work/cost.pth',
        'custom_hooks.0.dataloader.num_workers=0',
        # one epoch: the schedule from epoch 150 of 240 would refuse it
        'custom_hooks.1.begin=0',
        *_loaders('train_dataloader', 'val_dataloader'))
    assert 'Built the cost matrix (100, 100)' in out
    for term in ('loss_wkd_l', 'loss_wkd_f'):
        values = [float(v) for v in re.findall(rf'distill\.{term}: (\S+)',
                                               out)]
        assert values and all(np.isfinite(values)), term
    from mmkd.apis.cost_io import load_cost_matrix_and_record
    cost, record = load_cost_matrix_and_record(str(tmp_path / 'work' /
                                                   'cost.pth'))
    assert record['source'] == 'feature' and record['num_per_class'] == 64
    assert cost.shape == (100, 100) and torch.isfinite(cost).all()
    student = tmp_path / 'work' / 'student_final.pth'
    assert student.is_file()
    out = _tool('test', str(tmp_path), STUDENT, str(student), '--work-dir',
                'test', '--cfg-options', *_loaders('test_dataloader'))
    assert 'accuracy/top1' in out


HETERO_DIR = osp.join(ROOT, 'configs', 'cifar100_hetero')


def test_hetero_vit_to_resnet_config_through_mmpretrains_tools(tmp_path):
    """configs/cifar100_hetero ViT-S -> ResNet18 WKD-L+F at 224 px, with a
    teacher checkpoint file in MMEngine's format."""
    import mmpretrain.models  # noqa: F401
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    _write_cifar100(str(tmp_path / 'data' / 'cifar100'), 200, 20)
    teacher_cfg = Config.fromfile(
        osp.join(HETERO_DIR, 'vit-s_8xb64-300e_cifar100.py'))
    torch.manual_seed(0)
    teacher = MODELS.build(teacher_cfg.model)
    ckpt = tmp_path / 'vit-s_cifar100.pth'
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict(epoch=300)),
               ckpt)
    config = osp.join(HETERO_DIR,
                      'wkd-lf_vit-s-to-resnet18_8xb64-300e_cifar100.py')
    out = _tool(
        'train', str(tmp_path), config, '--work-dir', 'work',
        '--cfg-options', f'model.teacher_ckpt={ckpt}',
        'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
        'custom_hooks.0.num_per_class=2',  # CKA needs two rows a class
        'custom_hooks.0.cost_file=work/cost.pth',
        'custom_hooks.0.dataloader.num_workers=0',
        'custom_hooks.0.dataloader.batch_size=20',
        *_loaders('train_dataloader', 'val_dataloader'))
    assert 'Built the cost matrix (100, 100)' in out
    for term in ('loss_wkd_l', 'loss_wkd_f'):
        values = [float(v) for v in re.findall(rf'distill\.{term}: (\S+)',
                                               out)]
        assert values and all(np.isfinite(values)), term
    student = tmp_path / 'work' / 'student_final.pth'
    assert student.is_file()
    out = _tool('test', str(tmp_path),
                osp.join(HETERO_DIR, 'resnet18_8xb64-300e_cifar100.py'),
                str(student), '--work-dir', 'test', '--cfg-options',
                *_loaders('test_dataloader'))
    assert 'accuracy/top1' in out
