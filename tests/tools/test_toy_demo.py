# Copyright (c) OpenMMLab. All rights reserved.
"""tools/toy_demo.py orchestration with the subprocesses faked: stage order,
what each stage is given, the table, and the stage cache."""
import importlib.util
import json
import os
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def demo(monkeypatch):
    spec = importlib.util.spec_from_file_location(
        'toy_demo', osp.join(ROOT, 'tools', 'toy_demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = []

    def fake_run(cmd, log_file):
        """Write what each tool would leave behind."""
        calls.append(cmd)
        tool = osp.basename(cmd[1])
        args = cmd[2:]
        if tool == 'train.py':
            work_dir = args[args.index('--work-dir') + 1]
            ckpt = osp.join(work_dir, 'iter_600.pth')
            open(ckpt, 'w').close()
            with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(ckpt)
        elif tool == 'test.py':
            test_dir = osp.join(args[args.index('--work-dir') + 1], 'run')
            os.makedirs(test_dir, exist_ok=True)
            m_ap = {'teacher': 0.3, 'student': 0.2}.get(
                osp.basename(osp.dirname(osp.dirname(test_dir))), 0.25)
            with open(osp.join(test_dir, 'run.json'), 'w') as f:
                f.write(json.dumps({'coco/bbox_mAP': m_ap,
                                    'coco/bbox_mAP_50': 2 * m_ap,
                                    'coco/bbox_mAP_75': m_ap / 2}) + '\n')
        elif tool == 'build_cost_matrix.py':
            open(args[1], 'w').close()
        return 60.0

    monkeypatch.setattr(module, 'run', fake_run)
    return module, calls


def _tools(calls):
    return [osp.basename(c[1]) for c in calls]


def test_stages_in_order_with_teacher_and_cost_matrix(demo, tmp_path,
                                                      monkeypatch, capsys):
    module, calls = demo
    work = tmp_path / 'demo'
    monkeypatch.setattr('sys.argv',
                        ['toy_demo.py', '--work-dir', str(work)])
    module.main()
    assert _tools(calls) == [
        'make_toy_data.py', 'train.py', 'test.py', 'train.py', 'test.py',
        'build_cost_matrix.py', 'train.py', 'test.py'
    ]
    teacher_ckpt = str(work / 'teacher' / 'iter_600.pth')
    cost = str(work / 'cost_matrix' / 'toy-teacher_cka-k1.pth')
    # the cost matrix comes from the trained teacher
    assert calls[5][calls[5].index('--checkpoint') + 1] == teacher_ckpt
    distill_train = calls[6]
    assert distill_train[2].endswith('_wkd-lf_toy-digits.py')
    assert f'model.teacher_ckpt={teacher_ckpt}' in distill_train
    assert f'custom_hooks.0.cost_file={cost}' in distill_train
    # every training run skips validation; test.py evaluates once
    for train_cmd in (calls[1], calls[3], calls[6]):
        for key in ('val_dataloader', 'val_cfg', 'val_evaluator'):
            assert f'{key}=None' in train_cmd
    for test_cmd in (calls[2], calls[4], calls[7]):
        assert not any(arg.startswith('val_') for arg in test_cmd)
    out = capsys.readouterr().out
    assert '| teacher | teacher | 0.300 | 0.600 | 0.150 | 1.0 min |' in out
    assert '| student | student baseline | 0.200 | 0.400 | 0.100 |' in out
    assert (work / 'results.md').read_text().count('\n') == 5


def test_finished_stages_are_reused(demo, tmp_path, monkeypatch):
    module, calls = demo
    argv = ['toy_demo.py', '--work-dir', str(tmp_path / 'demo')]
    monkeypatch.setattr('sys.argv', argv)
    module.main()
    calls.clear()
    module.main()
    # only the (idempotent) data step runs again
    assert _tools(calls) == ['make_toy_data.py']
    calls.clear()
    monkeypatch.setattr('sys.argv', argv + ['--force'])
    module.main()
    assert len(calls) == 8 and '--force' in calls[0]


def _rerun_after_change(demo, tmp_path, monkeypatch, suffix):
    """Run the demo, then again with the config ending in ``suffix``
    changed; returns the calls of the second run."""
    module, calls = demo
    monkeypatch.setattr('sys.argv',
                        ['toy_demo.py', '--work-dir', str(tmp_path / 'd')])
    module.main()
    calls.clear()
    fingerprint = module.config_fingerprint

    def changed(config, options, depends=()):
        extra = ['x'] if config.endswith(suffix) else []
        return fingerprint(config, (options or []) + extra, depends)

    monkeypatch.setattr(module, 'config_fingerprint', changed)
    module.main()
    return calls


def test_a_changed_config_is_trained_again(demo, tmp_path, monkeypatch):
    """A user who pulls new loss weights must not get the old run back."""
    calls = _rerun_after_change(demo, tmp_path, monkeypatch,
                                '_wkd-lf_toy-digits.py')
    # only that run trains again (and is evaluated again)
    assert _tools(calls) == ['make_toy_data.py', 'train.py', 'test.py']
    assert calls[1][2].endswith('_wkd-lf_toy-digits.py')


def test_a_retrained_teacher_retrains_the_distilled_student(
        demo, tmp_path, monkeypatch):
    calls = _rerun_after_change(demo, tmp_path, monkeypatch,
                                'r50-w32_fpn_toy-digits.py')
    assert _tools(calls) == [
        'make_toy_data.py', 'train.py', 'test.py', 'build_cost_matrix.py',
        'train.py', 'test.py'
    ]
    assert calls[4][2].endswith('_wkd-lf_toy-digits.py')


def test_the_fingerprint_follows_the_merged_config(demo, tmp_path):
    module, _ = demo
    base = osp.join(ROOT, 'configs', 'toy_digits',
                    'faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-lf_toy-digits.py')
    first = module.config_fingerprint(base, ['a=1'])
    assert first == module.config_fingerprint(base, ['a=1'])
    assert first != module.config_fingerprint(base, ['a=2'])
    assert first != module.config_fingerprint(base, ['a=1'], ['teacher'])
    other = base.replace('_wkd-lf_', '_wkd-lf-bbox_')
    assert first != module.config_fingerprint(other, ['a=1'])
    # an edit of a _base_ file changes the child's fingerprint
    (tmp_path / 'base.py').write_text('lr = 0.1\n')
    child = tmp_path / 'child.py'
    child.write_text("_base_ = './base.py'\nepochs = 2\n")
    before = module.config_fingerprint(str(child), None)
    (tmp_path / 'base.py').write_text('lr = 0.2\n')
    assert module.config_fingerprint(str(child), None) != before


def test_a_failing_stage_names_its_log(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'toy_demo_real', osp.join(ROOT, 'tools', 'toy_demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log = str(tmp_path / 'x.log')
    with pytest.raises(RuntimeError, match=r'exit code 3; see .*x\.log'):
        module.run(['python', '-c', 'import sys; sys.exit(3)'], log)


def test_new_test_annotations_re_evaluate(demo, tmp_path, monkeypatch):
    """Regenerated data must not be reported with metrics of the old one."""
    module, calls = demo
    ann = tmp_path / 'instances_test.json'
    ann.write_text('{}')
    os.utime(ann, (1, 1))  # older than everything the demo writes
    monkeypatch.setattr(module, 'TEST_ANN', str(ann))
    monkeypatch.setattr('sys.argv',
                        ['toy_demo.py', '--work-dir', str(tmp_path / 'd')])
    module.main()
    calls.clear()
    module.main()
    assert _tools(calls) == ['make_toy_data.py']
    calls.clear()
    future = 4102444800  # 2100-01-01
    os.utime(ann, (future, future))
    module.main()
    # training is reused, every checkpoint is evaluated again
    assert _tools(calls) == ['make_toy_data.py', 'test.py', 'test.py',
                             'test.py']
