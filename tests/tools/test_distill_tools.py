# Copyright (c) OpenMMLab. All rights reserved.
"""Distillation end to end through the tools on generated toy digits.

tools/train.py with the toy WKD-L+F+bbox config (cost matrix built by the
hook, student exported at the end), tools/build_cost_matrix.py,
tools/export_student.py, and tools/test.py on the distiller and on the
exported student with the student's own config (same mAP).
"""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = osp.join(ROOT, 'configs', 'toy_digits')
DISTILL = osp.join(
    TOY, 'faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-lf-bbox_toy-digits.py')
STUDENT = osp.join(TOY, 'faster-rcnn_r18-w16_fpn_toy-digits.py')
TEACHER = osp.join(TOY, 'faster-rcnn_r50-w32_fpn_toy-digits.py')

DATA_OVERRIDES = """
train_dataloader = dict(batch_size=2, num_workers=0,
    persistent_workers=False, dataset=dict(data_root={det!r}))
val_dataloader = dict(batch_size=2, num_workers=0,
    persistent_workers=False, dataset=dict(data_root={det!r}))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file={det!r} + 'annotations/instances_val.json')
test_evaluator = val_evaluator
"""


def _run(args):
    proc = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _metrics(work_dir):
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    assert files, f'no metrics json under {work_dir}'
    with open(files[-1]) as f:
        return json.loads(f.read().strip().splitlines()[-1])


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmkd.datasets import generate_toy_digits
    from mmkd.models import build_model

    tmp = tmp_path_factory.mktemp('distill_tools')
    generate_toy_digits(
        str(tmp / 'data'), num_train=40, num_val=4, num_test=2, cls=False,
        seed=1)
    det = (tmp / 'data' / 'det').as_posix() + '/'
    # An untrained teacher is enough to exercise the pipeline.
    init_default_scope('mmdet')
    torch.manual_seed(0)
    teacher = build_model(
        Config.fromfile(TEACHER).model, 'teacher')
    teacher_ckpt = tmp / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), teacher_ckpt)
    cost_file = tmp / 'cost' / 'toy_cost.pth'
    cfg = tmp / 'distill.py'
    cfg.write_text(f"""
_base_ = {DISTILL!r}
{DATA_OVERRIDES.format(det=det)}
model = dict(teacher_ckpt={str(teacher_ckpt)!r})
custom_hooks = [
    dict(type='mmkd.CostMatrixHook', cost_file={str(cost_file)!r},
         num_per_class=2, bg_per_image=4),
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=False),
    dict(type='mmkd.StudentCheckpointHook'),
]
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
""")
    student_cfg = tmp / 'student.py'
    student_cfg.write_text(f"""
_base_ = {STUDENT!r}
{DATA_OVERRIDES.format(det=det)}
""")
    work = tmp / 'work'
    out = _run([sys.executable, 'tools/train.py', str(cfg), '--work-dir',
                str(work)])
    return dict(
        tmp=tmp, cfg=cfg, student_cfg=student_cfg, work=work, log=out,
        cost_file=cost_file, teacher_ckpt=teacher_ckpt)


def test_train_builds_cost_matrix_logs_terms_and_exports(setup):
    from mmkd.apis import load_cost_file
    cost = load_cost_file(str(setup['cost_file']))
    assert cost.shape == (11, 11)
    assert setup['cost_file'].with_suffix('.png').is_file()
    log = setup['log']
    for key in ('distill.loss_wkd_l', 'distill.loss_wkd_f',
                'distill.loss_bbox_kd', 'student.loss_cls',
                'student.loss_rpn_cls'):
        assert key in log, key
    assert (setup['work'] / 'iter_2.pth').is_file()
    final = torch.load(setup['work'] / 'student_final.pth',
                       weights_only=True)
    assert not any(k.startswith('teacher.') for k in final['state_dict'])
    ckpt = torch.load(setup['work'] / 'iter_2.pth', map_location='cpu',
                      weights_only=False)
    assert not any(k.startswith('teacher.') for k in ckpt['state_dict'])


def test_build_cost_matrix_tool(setup):
    out = setup['tmp'] / 'tool_cost.pth'
    log = _run([
        sys.executable, 'tools/build_cost_matrix.py',
        str(setup['cfg']), str(out), '--num-per-class', '2',
        '--bg-per-image', '4', '--num-workers', '0'
    ])
    assert 'Cost matrix (11, 11)' in log
    assert out.is_file() and out.with_suffix('.png').is_file()
    # the tool records what the hook checks: a run with the same settings
    # takes the tool's file as its own
    from mmkd.apis.cost_io import load_cost_matrix_and_record
    from mmkd.apis.cost_record import record_mismatch
    _, tool = load_cost_matrix_and_record(str(out))
    _, hook = load_cost_matrix_and_record(str(setup['cost_file']))
    assert tool['class_names'][-1] == 'background'
    assert record_mismatch(tool, hook) is None
    assert record_mismatch(tool, dict(hook, kappa=2.0)) is not None


def test_exported_student_tests_like_the_distiller(setup):
    work = setup['work']
    student = setup['tmp'] / 'student_export.pth'
    _run([
        sys.executable, 'tools/export_student.py',
        str(setup['cfg']),
        str(work / 'iter_2.pth'),
        str(student)
    ])
    _run([
        sys.executable, 'tools/test.py',
        str(setup['cfg']),
        str(work / 'iter_2.pth'), '--work-dir',
        str(work / 'test_distiller')
    ])
    _run([
        sys.executable, 'tools/test.py',
        str(setup['student_cfg']),
        str(student), '--work-dir',
        str(work / 'test_student')
    ])
    ours = _metrics(str(work / 'test_distiller'))
    plain = _metrics(str(work / 'test_student'))
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50'):
        assert ours[key] == plain[key], (ours, plain)
