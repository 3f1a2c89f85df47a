# Copyright (c) OpenMMLab. All rights reserved.
"""tools/benchmarks/distill_study.py and study_report.py without training:
run ids and options against the real configs, the sweep protocol, resuming,
log parsing, and the tables computed from fake result files."""
import json
import math
import os
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'benchmarks'))

import distill_study as study  # noqa: E402
import study_report as report  # noqa: E402

DET = study.TASKS['det']
CLS = study.TASKS['cls']
VARIANTS = DET.variants


def _result(run, val, test, seed=None):
    return dict(
        id=run.id, variant=run.variant.name, seed=run.seed,
        value=run.value,
        metrics=dict(
            val={'coco/bbox_mAP': val, 'coco/bbox_mAP_50': 2 * val,
                 'coco/bbox_mAP_75': val / 2},
            test={'coco/bbox_mAP': test, 'coco/bbox_mAP_50': 2 * test,
                  'coco/bbox_mAP_75': test / 2}),
        curve=[dict(iter=50, loss=2.0, **{'student.loss_cls': 1.0,
                                          'distill.loss_x': 0.5})])


def _write(results, res):
    study.write_json(osp.join(results, f'{res["id"]}.json'), res)


@pytest.mark.parametrize('task',
                         ['det', 'cls', 'gfl', 'retinanet', 'crd', 'det_fpn',
                          'gfl_fpn', 'hetero_vit', 'hetero_cnn'])
def test_every_variant_config_and_knob_exist(task):
    """A wrong knob path would sweep nothing; each must name a number."""
    variants = study.TASKS[task].variants
    assert list(variants)[0] == 'student'
    for v in variants.values():
        assert osp.isfile(osp.join(study.ROOT, v.config)), v.config
        if v.knob:
            # three values 4x apart; the config holds one the sweep can
            # visit (its grid or a 4x step beyond it, up to MAX_EXTEND)
            assert v.sweep == tuple(v.sweep[1] * g for g in study.GRID)
            reachable = [
                v.sweep[1] * 4.0**k
                for k in range(-1 - study.MAX_EXTEND, 2 + study.MAX_EXTEND)
            ]
            value = study.config_value(v.config, v.knob)
            assert any(math.isclose(value, r) for r in reachable), (
                v.name, value, v.sweep)
        for used in v.uses:
            swept = variants[used]
            assert study.config_value(v.config, swept.knob) > 0


def test_run_ids_and_options():
    wkd_l = study.Run(VARIANTS['wkd-l'], 2, 10.0)
    assert wkd_l.id == 'wkd-l_wd_weight=10_s2'
    opts = wkd_l.options('t.pth', 'c.pth')
    assert 'randomness.seed=2' in opts
    assert 'model.distill_losses.loss_wkd_l.wd_weight=10.0' in opts
    assert 'model.teacher_ckpt=t.pth' in opts
    # the config's CostMatrixHook is custom_hooks[0]
    assert 'custom_hooks.0.cost_file=c.pth' in opts
    wkd_f = study.Run(VARIANTS['wkd-f-roi'], 0, 0.005)
    assert wkd_f.id == 'wkd-f-roi_loss_weight=0.005_s0'
    assert not any('cost_file' in o for o in wkd_f.options('t', 'c'))
    student = study.Run(VARIANTS['student'], 1)
    assert student.id == 'student_s1'
    assert student.options('t', 'c') == ['randomness.seed=1']
    fg = study.Run(VARIANTS['wkd-f-roi-fg'], 0)
    assert 'model.distill_inputs.loss_wkd_f.rois=fg' in fg.options('t', 'c')


def _merged(config, options):
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(osp.join(study.ROOT, config))
    action = DictAction(option_strings=[], dest='x')
    ns = type('NS', (), {})()
    action(None, ns, options)
    cfg.merge_from_dict(ns.x)
    return cfg


@pytest.mark.parametrize('task',
                         ['det', 'cls', 'gfl', 'retinanet', 'crd', 'det_fpn',
                          'gfl_fpn', 'hetero_vit', 'hetero_cnn'])
def test_options_build_valid_configs(task):
    """The options of every run merge into its config as intended: seed,
    teacher, weight, the study's cost matrix, and each split."""
    task = study.TASKS[task]
    for run in study.seed_runs(task.variants.values(), seeds=[1]):
        cfg = _merged(run.variant.config, run.options('t.pth', 'c.pth'))
        assert cfg.randomness.seed == 1
        if run.variant.distills:
            assert cfg.model.teacher_ckpt == 't.pth'
            losses = cfg.model.get('distill_losses') or {}
            if 'loss_wkd_l' in losses:  # its cost matrix is the study's
                hooks = [h for h in cfg.custom_hooks
                         if h['type'] == 'mmkd.CostMatrixHook']
                assert (hooks[0].cost_file if hooks else
                        losses.loss_wkd_l.cost_matrix) == 'c.pth'
        if run.value is not None:
            node = cfg
            for part in run.variant.knob.split('.'):
                node = node[part]
            assert node == run.value
    for split in ('val', 'test'):
        cfg = _merged(task.student_config, task.split_options(split))
        dataset = cfg.test_dataloader.dataset
        if task.metric == 'coco/bbox_mAP':
            ann = f'annotations/instances_{split}.json'
            assert dataset.ann_file == ann
            assert dataset.data_prefix.img == f'images/{split}/'
            assert cfg.test_evaluator.ann_file.endswith(ann)
        else:
            assert dataset.data_prefix == split


def test_teacher_checkpoints_named_as_saved():
    assert study.teacher_checkpoints(DET.teacher_config)[-1] == (
        1800, 'iter_1800.pth')
    assert len(study.teacher_checkpoints(DET.teacher_config)) == 6
    assert study.teacher_checkpoints(CLS.teacher_config) == [
        (k, f'epoch_{k}.pth') for k in range(15, 61, 15)]


def test_sweep_choice_and_check(tmp_path):
    results = str(tmp_path)
    kd = VARIANTS['kd']
    lookup = lambda i: study.read_result(results, i)  # noqa: E731
    assert study.sweep_choice(kd, lookup, DET.metric) is None
    for value, val in zip(kd.sweep, (0.30, 0.25, 0.20)):
        _write(results, _result(study.Run(kd, 0, value), val, 0.9))
    # the best is at the low end: the sweep extends by 4x before choosing
    values = study.sweep_values(kd, lookup, DET.metric)
    assert values == [0.0625, 0.25, 1.0, 4.0]
    assert study.sweep_choice(kd, lookup, DET.metric) is None
    assert [r.id for r in study.sweep_runs([kd], DET, results)][0] == \
        'kd_loss_weight=0.0625_s0'
    _write(results, _result(study.Run(kd, 0, 0.0625), 0.28, 0.99))
    # val picks the weight; test plays no part
    assert study.sweep_values(kd, lookup, DET.metric) == values
    assert study.sweep_choice(kd, lookup, DET.metric) == kd.sweep[0]
    problems = study.check_sweep(DET, [kd, VARIANTS['wkd-lf']], results)
    assert any('kd' in p and f'chose {kd.sweep[0]:g} on val' in p and
               'put 0.25 in the config' in p for p in problems), problems
    # the combination names the sweeps it waits for
    assert any(p.startswith('wkd-l: its sweep has not finished')
               for p in problems)


def test_sweep_extends_at_most_twice(tmp_path):
    results = str(tmp_path)
    wkd_l = VARIANTS['wkd-l']
    lookup = lambda i: study.read_result(results, i)  # noqa: E731
    # val keeps rising with lambda: 2.5, 10, 40, then 160 and 640
    for value, val in ((2.5, 0.2), (10.0, 0.3), (40.0, 0.4), (160.0, 0.5),
                       (640.0, 0.6)):
        _write(results, _result(study.Run(wkd_l, 0, value), val, val))
    assert study.sweep_values(wkd_l, lookup, DET.metric) == [
        2.5, 10.0, 40.0, 160.0, 640.0]
    assert study.sweep_choice(wkd_l, lookup, DET.metric) == 640.0


def test_seeds_stage_refuses_unswept_configs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(study, 'prepare_teacher',
                        lambda args, task: ('t', 'c'))
    ran = []
    monkeypatch.setattr(study, 'run_all',
                        lambda runs, *a: ran.append(runs) or 0)
    code = study.main(['--stage', 'seeds', '--variants', 'wkd-l',
                       '--results', str(tmp_path)])
    assert code == 2 and not ran
    assert 'sweep has not finished' in capsys.readouterr().err
    assert study.main(['--stage', 'seeds', '--variants', 'student',
                       '--results', str(tmp_path)]) == 0
    assert [r.id for r in ran[0]] == ['student_s0', 'student_s1',
                                      'student_s2']


def test_run_all_skips_finished_and_reports_failures(tmp_path, monkeypatch,
                                                     capsys):
    args = study.parse_args(['--results', str(tmp_path), '--jobs', '2'])
    kd = VARIANTS['kd']
    runs = [study.Run(kd, 0, v) for v in kd.sweep]
    _write(args.results, _result(runs[0], 0.3, 0.3))
    called = []

    def fake(run, a, task, options):
        assert f'randomness.seed={run.seed}' in options
        called.append(run.id)
        if run is runs[2]:
            raise RuntimeError('boom; see log')
        res = _result(run, 0.2, 0.21)
        _write(a.results, res)
        return res

    monkeypatch.setattr(study, 'do_run', fake)
    assert study.run_all(runs, args, DET, 't', 'c') == 1
    assert sorted(called) == sorted([runs[1].id, runs[2].id])
    out = capsys.readouterr().out
    assert '1 finished before, 2 to do' in out
    assert 'FAILED: boom' in out and 'left' in out


def test_training_curve_reads_losses(tmp_path):
    run_dir = tmp_path / '20260101_000000' / 'vis_data'
    run_dir.mkdir(parents=True)
    lines = [
        dict(iter=50, lr=0.02, loss=1.234567, time=0.5,
             **{'student.loss_cls': 0.5, 'student.acc': 90.0,
                'distill.loss_wkd_l': 0.25, 'distill_weight_scale': 0.9}),
        dict(**{'coco/bbox_mAP': 0.3, 'step': 600}),  # a val record
    ]
    (run_dir / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in lines))
    curve = study.training_curve(str(tmp_path))
    assert curve == [{
        'iter': 50, 'lr': 0.02, 'loss': 1.2346, 'student.loss_cls': 0.5,
        'distill.loss_wkd_l': 0.25, 'distill_weight_scale': 0.9
    }]


def test_training_curve_joins_resumed_parts(tmp_path):
    for stamp, iters, loss in (('20260101_000000', (50, 100, 150), 2.0),
                               ('20260101_010000', (150, 200), 1.0)):
        run_dir = tmp_path / stamp / 'vis_data'
        run_dir.mkdir(parents=True)
        (run_dir / 'scalars.json').write_text('\n'.join(
            json.dumps(dict(iter=i, loss=loss)) for i in iters))
    curve = study.training_curve(str(tmp_path))
    assert [(r['iter'], r['loss']) for r in curve] == [
        (50, 2.0), (100, 2.0), (150, 1.0), (200, 1.0)]


def test_train_resumes_an_interrupted_run(tmp_path, monkeypatch):
    from kd_study import runner
    calls = []

    def fake_run_cmd(cmd, log, threads):
        calls.append(cmd)
        work_dir = cmd[cmd.index('--work-dir') + 1]
        ckpt = osp.join(work_dir, 'e2.pth')
        open(ckpt, 'w').close()
        with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
            f.write(ckpt)
        return 1.0

    monkeypatch.setattr(runner, 'run_cmd', fake_run_cmd)
    (tmp_path / 'train_stdout.log').write_text('first part')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'e1.pth'))
    ckpt, _ = runner.train('c.py', str(tmp_path), [], 1)
    assert '--resume' in calls[0]
    assert ckpt == str(tmp_path / 'e2.pth')
    kept = list(tmp_path.glob('train_stdout_*.log'))
    assert len(kept) == 1 and kept[0].read_text() == 'first part'
    # finished: not run again; a fresh directory does not resume
    assert runner.train('c.py', str(tmp_path), [], 1)[0] == ckpt
    fresh = tmp_path / 'fresh'
    fresh.mkdir()
    runner.train('c.py', str(fresh), [], 1)
    assert len(calls) == 2 and '--resume' not in calls[1]


def test_report_tables_from_results(tmp_path):
    """Mean, sample std and gap closed, computed by hand."""
    results = {}
    results['teacher'] = dict(id='teacher', metrics=dict(
        test={'coco/bbox_mAP': 0.40, 'coco/bbox_mAP_50': 0.6,
              'coco/bbox_mAP_75': 0.4}), val_curve=[])
    student, lf = VARIANTS['student'], VARIANTS['wkd-lf']
    kd = VARIANTS['kd']
    kd_value = study.config_value(kd.config, kd.knob)
    for seed, (s, w, k) in enumerate([(0.20, 0.31, 0.24), (0.22, 0.33, 0.26),
                                      (0.24, 0.35, 0.22)]):
        for variant, value, score in ((student, None, s), (lf, None, w),
                                      (kd, kd_value, k)):
            run = study.Run(variant, seed, value)
            results[run.id] = _result(run, score, score)
    table, summary = report.main_table(DET, results)
    row = [line for line in table.splitlines()
           if line.startswith('| WKD-L + WKD-F (RoI) |')][0]
    # mean 33.0, sample std 2.0; gap closed (0.33 - 0.22) / (0.40 - 0.22)
    assert '| 3 | 33.0 ± 2.0 |' in row and '61 % ± 11' in row
    assert '37.49 / 57.76 / 40.39' in row and '| 48 % |' in row
    lines = report.targets(DET, summary)
    assert any('Teacher above every distilled student on test: yes' in x
               for x in lines)
    assert any('closes at least 50 % of the gap: yes (61 %' in x
               for x in lines)
    # paired by seed: wkd-lf - kd = +7 / +7 / +13 mAP
    assert any('WKD-L + WKD-F (RoI) > KD (RoI logits): yes, by more than '
               'the seed std (+9.0 mAP, std 2.0; per seed +7.0 / +7.0 / '
               '+13.0, higher in 3 of 3).' in x for x in lines)


def test_report_table_without_published_numbers():
    """RetinaNet has no published pair: no published columns."""
    task = study.TASKS['retinanet']
    results = {'teacher': dict(id='teacher', metrics=dict(
        test={'coco/bbox_mAP': 0.40, 'coco/bbox_mAP_50': 0.6,
              'coco/bbox_mAP_75': 0.4}), val_curve=[])}
    for seed, score in enumerate((0.20, 0.22, 0.24)):
        run = study.Run(task.variants['student'], seed)
        results[run.id] = _result(run, score, score)
    table, _ = report.main_table(task, results)
    lines = table.splitlines()
    assert lines[0] == ('| method | seeds | mAP | AP50 | AP75 | gap closed |')
    assert lines[1] == '|---|---|---|---|---|---|'
    assert lines[2] == '| teacher | 1 | 40.0 | 60.0 | 40.0 | - |'
    assert lines[3].startswith('| student alone | 3 | 22.0 ± 2.0 |')
    assert lines[3].endswith(' | - |') and lines[3].count('|') == 7


@pytest.mark.parametrize('name,unit', [('crd', 'epoch'), ('cls', 'epoch'),
                                       ('det', 'iteration')])
def test_report_teacher_table_counts_in_the_task_unit(name, unit):
    """Classification studies checkpoint by epoch, detection ones by
    iteration; the CRD and hetero tasks are classification too."""
    task = study.TASKS[name]
    key = report.SPECS[name].columns[0][0]
    results = {'teacher': dict(id='teacher', val_curve=[
        {'step': 36, key: 0.5 if unit == 'iteration' else 50.0}])}
    table = report.teacher_table(task, results)
    assert table.splitlines()[0] == f'| {unit} | 36 |'


def test_report_writes_section_between_markers(tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text(f'# Title\n\nintro\n\n{report.BEGIN}\nold\n'
                      f'{report.END}\n\nafter\n')
    results = tmp_path / 'results'
    results.mkdir()
    kd = VARIANTS['kd']
    _write(str(results), _result(study.Run(kd, 0, kd.sweep[1]), 0.25, 0.3))
    report.main(['--task', 'det', '--results', str(results), '--readme',
                 str(readme),
                 '--fig-dir', str(tmp_path / 'figs')])
    text = readme.read_text()
    assert text.startswith('# Title\n\nintro\n\n')
    assert text.endswith('\n\nafter\n') and 'old' not in text
    assert 'Result files: 1 of' in text
    assert '0.25: -, 1: 25.0, 4: -' in text
    assert (tmp_path / 'figs' / 'study_curves.png').exists()


def test_sweep_stage_runs_extension_rounds(tmp_path, monkeypatch):
    """A round whose best is at an end of the grid starts another round."""
    monkeypatch.setattr(study, 'prepare_teacher',
                        lambda args, task: ('t', 'c'))
    rounds = []
    scores = {0.0625: 0.1, 0.25: 0.3, 1.0: 0.2, 4.0: 0.1}

    def fake_run_all(runs, args, task, t, c):
        todo = [r for r in runs if not study.read_result(args.results, r.id)]
        rounds.append([r.id for r in todo])
        for r in todo:
            _write(args.results, _result(r, scores[r.value], 0.5))
        return 0

    monkeypatch.setattr(study, 'run_all', fake_run_all)
    assert study.main(['--stage', 'sweep', '--variants', 'kd',
                       '--results', str(tmp_path)]) == 0
    assert rounds == [['kd_loss_weight=0.25_s0', 'kd_loss_weight=1_s0',
                       'kd_loss_weight=4_s0'], ['kd_loss_weight=0.0625_s0']]


def test_teacher_snapshot_round_trip(tmp_path, monkeypatch):
    """A kept teacher holds the weights only, loads with weights_only, and
    on a fresh machine is put where train() finds a finished run."""
    import torch
    from kd_study import runner, teacher
    from mmkd.utils import load_weights_only
    config = study.TASKS['crd'].teacher_config
    step, final = study.teacher_checkpoints(config)[-1]
    state = {'backbone.w': torch.randn(3, 2), 'head.b': torch.randn(3)}
    ckpt = tmp_path / final
    torch.save(dict(state_dict=state, optimizer={'m': torch.ones(1)},
                    meta=dict(epoch=step, seed=0, hook_msgs={'x': 1})), ckpt)
    snap = tmp_path / 'kept' / 'teacher.pth'
    teacher.save_snapshot(str(ckpt), str(snap), 123.4, config)
    kept = load_weights_only(str(snap))
    assert set(kept) == {'state_dict', 'meta'}
    assert kept['meta'] == dict(epoch=step, seed=0, train_seconds=123,
                                config=config)
    assert torch.equal(kept['state_dict']['backbone.w'], state['backbone.w'])

    work_dir = tmp_path / 'study' / 'teacher'
    work_dir.mkdir(parents=True)
    # an interrupted run there does not resume over the restored weights
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_18.pth'))
    teacher.restore_snapshot(str(snap), config, str(work_dir))
    assert not (work_dir / 'last_checkpoint').exists()
    monkeypatch.setattr(runner, 'run_cmd', lambda *a: pytest.fail('trained'))
    restored, seconds = runner.train(config, str(work_dir), [], 1)
    assert osp.basename(restored) == final and seconds == 123
    assert torch.equal(
        load_weights_only(restored)['state_dict']['head.b'], state['head.b'])
    # a finished run there is left alone
    (work_dir / final).write_bytes(b'newer')
    teacher.restore_snapshot(str(snap), config, str(work_dir))
    assert (work_dir / final).read_bytes() == b'newer'
    # ... unless its checkpoint is gone
    (work_dir / final).unlink()
    teacher.restore_snapshot(str(snap), config, str(work_dir))
    assert (work_dir / final).exists()


def test_teacher_snapshot_of_another_schedule_is_refused(tmp_path):
    import torch
    from kd_study import teacher
    config = study.TASKS['crd'].teacher_config
    step = study.teacher_checkpoints(config)[-1][0]
    snap = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict={}, meta=dict(epoch=step - 1, config=config)),
               snap)
    with pytest.raises(ValueError, match=f'at epoch {step - 1}, not of .* '
                       f'at epoch {step}; delete it'):
        teacher.restore_snapshot(str(snap), config, str(tmp_path / 'w'))
    assert not (tmp_path / 'w').exists()


def test_prepare_teacher_restores_evaluates_final_only(tmp_path, monkeypatch):
    """Fresh machine, snapshot, no teacher.json: nothing trains, only the
    final checkpoint is evaluated, teacher.json names the snapshot; the
    second call reads teacher.json and warns on a changed cost matrix."""
    import argparse

    import torch
    from kd_study import runner, teacher
    task = study.TASKS['crd']
    config = task.teacher_config
    step, final = study.teacher_checkpoints(config)[-1]
    snap = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict={}, meta=dict(epoch=step, config=config,
                                             train_seconds=9)), snap)
    monkeypatch.setattr(task, 'teacher_snapshot', str(snap))
    evaluated = []

    def fake_evaluate(task_, config_, ckpt, work_dir, split, opts, threads):
        evaluated.append((osp.basename(ckpt), split))
        return {'accuracy/top1': 80.0}

    commands = []

    def fake_run_cmd(cmd, log, threads):
        commands.append(cmd[1])
        if cmd[1] == 'tools/make_toy_data.py':
            assert cmd[2:] == ['--out-dir', osp.join('data', 'toy_digits')]
            return 1.0
        assert cmd[1] == 'tools/build_cost_matrix.py', 'trained'
        os.makedirs(osp.dirname(cmd[3]), exist_ok=True)
        torch.save(dict(cost_matrix=torch.ones(2, 2) - torch.eye(2)),
                   cmd[3])
        return 1.0

    monkeypatch.setattr(teacher, 'evaluate', fake_evaluate)
    monkeypatch.setattr(teacher, 'run_cmd', fake_run_cmd)
    monkeypatch.setattr(runner, 'run_cmd', fake_run_cmd)
    args = argparse.Namespace(work_dir=str(tmp_path / 'study'),
                              results=str(tmp_path / 'results'), jobs=1,
                              threads=1)
    ckpt, cost_file = teacher.prepare_teacher(args, task)
    assert osp.basename(ckpt) == final
    # the toy set is made before anything reads it (a fresh clone has none)
    assert commands == ['tools/make_toy_data.py', 'tools/build_cost_matrix.py']
    assert evaluated == [(final, 'val')] * 2 + [(final, 'test')]
    record = study.read_result(args.results, 'teacher')
    assert record['restored_from'] == str(snap)
    assert record['train_seconds'] == 9
    assert [p['step'] for p in record['val_curve']] == [step]
    assert record['cost_matrix'] == [[0.0, 1.0], [1.0, 0.0]]
    # a changed matrix on the next call is reported, not silently used
    torch.save(dict(cost_matrix=torch.zeros(2, 2)), cost_file)
    record['cost_matrix'] = [[0.0, 0.5], [0.5, 0.0]]
    study.write_json(osp.join(args.results, 'teacher.json'), record)
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        teacher.prepare_teacher(args, task)
    assert 'differs from the matrix in teacher.json by up to 0.5' in \
        err.getvalue()


def test_teacher_data_is_made_before_the_teacher_trains_only(
        tmp_path, monkeypatch):
    """hetero_vit's teacher trains on its own, larger set: it is generated
    (after the students' set) when the teacher trains, and not when a kept
    teacher is restored; its val and test are the students' (the same
    seeded generator)."""
    import argparse

    import torch
    from kd_study import runner, teacher
    from kd_study.plan import load_config
    task = study.TASKS['hetero_vit']
    assert task.teacher_data[:2] == ('--out-dir',
                                     osp.join('data', 'toy_digits_large'))
    cfg = load_config(task.teacher_config)
    assert cfg.train_dataloader.dataset.data_root == \
        'data/toy_digits_large/cls'
    assert cfg.val_dataloader.dataset.data_root == 'data/toy_digits/cls'
    step, final = study.teacher_checkpoints(task.teacher_config)[-1]
    snap = tmp_path / 'kept' / 'teacher.pth'
    monkeypatch.setattr(task, 'teacher_snapshot', str(snap))
    commands = []

    def fake_run_cmd(cmd, log, threads):
        commands.append(cmd[1:] if cmd[1] == 'tools/make_toy_data.py' else
                        cmd[1:2])
        if cmd[1] == 'tools/train.py':
            work_dir = cmd[cmd.index('--work-dir') + 1]
            os.makedirs(work_dir, exist_ok=True)
            ckpt = osp.join(work_dir, final)
            torch.save(dict(state_dict={'w': torch.ones(1)},
                            meta=dict(epoch=step)), ckpt)
            with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(ckpt)
        if cmd[1] == 'tools/build_cost_matrix.py':
            os.makedirs(osp.dirname(cmd[3]), exist_ok=True)
            torch.save(dict(cost_matrix=torch.ones(2, 2) - torch.eye(2)),
                       cmd[3])
        return 1.0

    monkeypatch.setattr(teacher, 'evaluate',
                        lambda *a: {'accuracy/top1': 80.0})
    monkeypatch.setattr(teacher, 'run_cmd', fake_run_cmd)
    monkeypatch.setattr(runner, 'run_cmd', fake_run_cmd)
    args = argparse.Namespace(work_dir=str(tmp_path / 'study'),
                              results=str(tmp_path / 'results'), jobs=1,
                              threads=1)
    teacher.prepare_teacher(args, task)
    toy = ['tools/make_toy_data.py', '--out-dir',
           osp.join('data', 'toy_digits')]
    assert commands == [toy, ['tools/make_toy_data.py', *task.teacher_data],
                        ['tools/train.py'], ['tools/build_cost_matrix.py']]
    assert snap.exists()
    # a fresh machine restores the kept teacher and makes no teacher set
    commands.clear()
    args.work_dir, args.results = (str(tmp_path / 'fresh'),
                                   str(tmp_path / 'fresh_results'))
    teacher.prepare_teacher(args, task)
    assert commands == [toy, ['tools/build_cost_matrix.py']]


@pytest.mark.parametrize('name', sorted(report.SPECS))
def test_report_readme_has_the_task_markers(name):
    """study_report.py writes each task's section between its markers in
    the README its spec names; both must be there, once."""
    task = study.TASKS[name]
    begin, end = report.markers(task)
    with open(osp.join(ROOT, report.SPECS[name].readme)) as f:
        text = f.read()
    assert text.count(begin) == 1 and text.count(end) == 1
    assert text.index(begin) < text.index(end)
    # every comparison names variants of the task
    for a, b in report.SPECS[name].comparisons:
        assert a in task.variants and b in task.variants


def test_report_leaves_out_json_files_that_are_not_runs(tmp_path):
    """A study folder keeps probe records beside its run files; the report
    reads only the runs (files with an ``id``)."""
    (tmp_path / 'student_s0.json').write_text(
        json.dumps(dict(id='student_s0', metrics={})))
    (tmp_path / 'recipe_probes.json').write_text(
        json.dumps(dict(about='probes', probes=[])))
    assert list(report.load_results(str(tmp_path))) == ['student_s0']
