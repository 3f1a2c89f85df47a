# Copyright (c) OpenMMLab. All rights reserved.
"""The converged teacher of a task: trained, evaluated at each checkpoint
and its WKD-L cost matrix built, every step cached.

A task may keep a weights-only copy of its teacher beside its result files
(``teacher.pth``, committed): a study that spans sessions on fresh machines
then distils every run from the same teacher instead of retraining one
(a retrained teacher differs: thread counts and resumed runs change its
floating-point path)."""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import time
from typing import List, Tuple

from .plan import load_config, read_result, repo_path, write_json
from .runner import (evaluate, finished_run, git_commit, run_cmd, train,
                     training_curve)
from .tasks import ROOT, Task


def teacher_checkpoints(config: str) -> List[Tuple[int, str]]:
    """The teacher's regular checkpoints: ``(iteration or epoch, name)``."""
    cfg = load_config(config)
    interval = int(cfg.default_hooks.checkpoint.interval)
    if 'max_iters' in cfg.train_cfg:
        last, unit = int(cfg.train_cfg.max_iters), 'iter'
    else:
        last, unit = int(cfg.train_cfg.max_epochs), 'epoch'
    return [(k, f'{unit}_{k}.pth')
            for k in range(interval, last + 1, interval)]


def prepare_teacher(args: argparse.Namespace, task: Task) -> Tuple[str, str]:
    """Train/evaluate the converged teacher and build its cost matrix.

    Every step is cached. The teacher's val metric at each of its regular
    checkpoints goes into ``teacher.json`` (where its curve flattens); a
    teacher restored from its snapshot has its final checkpoint only.

    Returns:
        tuple[str, str]: The teacher checkpoint and the cost matrix file.
    """
    config = task.teacher_config
    work_dir = osp.join(args.work_dir, 'teacher')
    stem = osp.splitext(osp.basename(config))[0]
    cost_file = osp.join(args.work_dir, 'cost_matrix', f'{stem}_cka-k1.pth')
    out = osp.join(args.results, 'teacher.json')
    snapshot = task.teacher_snapshot and osp.join(ROOT,
                                                  task.teacher_snapshot)
    threads = args.jobs * args.threads  # the teacher runs alone
    # Every toy config reads data/toy_digits; a fresh clone has none. The
    # generator is seeded and skips a set that is up to date.
    print('[data] toy digits (generated once) ...', flush=True)
    run_cmd([
        sys.executable, 'tools/make_toy_data.py', '--out-dir',
        osp.join('data', 'toy_digits')
    ], osp.join(args.work_dir, 'data_stdout.log'), threads)
    if snapshot and osp.exists(snapshot):
        restore_snapshot(snapshot, config, work_dir)
    if task.teacher_data and finished_run(work_dir) is None:
        print('[data] the teacher\'s own set (generated once) ...',
              flush=True)
        run_cmd([sys.executable, 'tools/make_toy_data.py',
                 *task.teacher_data],
                osp.join(args.work_dir, 'teacher_data_stdout.log'), threads)
    print(f'[teacher] training {config} (cached when done) ...', flush=True)
    ckpt, seconds = train(config, work_dir, [], threads)
    if snapshot and not osp.exists(snapshot):
        save_snapshot(ckpt, snapshot, seconds, config)
    if not osp.exists(cost_file) or \
            osp.getmtime(cost_file) < osp.getmtime(ckpt):
        print('[teacher] building the cost matrix ...', flush=True)
        run_cmd([
            sys.executable, 'tools/build_cost_matrix.py', config,
            cost_file, '--checkpoint', ckpt, '--kappa', '1.0',
            *task.cost_args
        ], osp.join(osp.dirname(cost_file), 'build_stdout.log'), threads)
    import torch
    from mmkd.apis.cost_io import load_cost_matrix_and_record
    matrix, record = load_cost_matrix_and_record(cost_file)
    matrix = torch.as_tensor(matrix).double()
    recorded = read_result(args.results, 'teacher')
    if recorded is not None:
        check_cost_matrix(matrix, recorded, cost_file)
        return ckpt, cost_file
    with open(osp.join(work_dir, 'train_done.json')) as f:
        restored_from = json.load(f).get('restored_from')
    print('[teacher] evaluating its checkpoints on val ...', flush=True)
    val_curve = []
    for step, name in teacher_checkpoints(config):
        path = osp.join(work_dir, name)
        if restored_from and path != ckpt:
            continue  # restored: the final weights only
        m = evaluate(task, config, path, osp.join(work_dir, f'at_{step}'),
                     'val', [], threads)
        val_curve.append(dict(step=step, **m))
        print(f'  {name}: val {task.metric} {m[task.metric]:.3f}',
              flush=True)
    metrics = {
        split: evaluate(task, config, ckpt, work_dir, split, [], threads)
        for split in ('val', 'test')
    }
    write_json(out, dict(
        id='teacher', config=config, metrics=metrics,
        val_curve=val_curve, curve=training_curve(work_dir),
        train_seconds=round(seconds), threads=threads,
        cost_matrix=matrix.tolist(),
        cost_matrix_classes=list((record or {}).get('class_names') or []),
        restored_from=restored_from,
        commit=git_commit(), finished=time.strftime('%Y-%m-%d %H:%M')))
    return ckpt, cost_file


def check_cost_matrix(matrix, recorded: dict, cost_file: str) -> None:
    """Warn when the cost matrix differs from the one ``teacher.json``
    recorded (a teacher retrained or restored on another machine)."""
    import torch
    if not recorded.get('cost_matrix'):
        return
    kept = torch.tensor(recorded['cost_matrix'], dtype=matrix.dtype)
    diff = ((matrix - kept).abs().max().item()
            if matrix.shape == kept.shape else float('inf'))
    if diff > 1e-4:
        print(f'[teacher] warning: {cost_file} differs from the matrix in '
              f'teacher.json by up to {diff:.3g}; the runs may not share '
              'one teacher (delete teacher.json and the runs to redo them)',
              file=sys.stderr, flush=True)


def save_snapshot(ckpt: str, snapshot: str, train_seconds: float,
                  config: str) -> None:
    """Keep the weights of ``ckpt`` (no optimizer or message hub) in
    ``snapshot``: tensors and plain metadata, which
    ``torch.load(weights_only=True)`` reads; written whole or not at all."""
    import torch
    from mmkd.utils import load_checkpoint_file
    state = load_checkpoint_file(ckpt)
    meta = {
        k: v
        for k, v in (state.get('meta') or {}).items()
        if k in ('epoch', 'iter', 'seed', 'mmengine_version')
    }
    meta.update(train_seconds=round(train_seconds), config=config)
    os.makedirs(osp.dirname(snapshot), exist_ok=True)
    tmp = snapshot + '.tmp'
    torch.save(dict(state_dict=state['state_dict'], meta=meta), tmp)
    os.replace(tmp, snapshot)


def restore_snapshot(snapshot: str, config: str, work_dir: str) -> None:
    """Put the kept teacher where :func:`train` finds a finished run, under
    its final checkpoint's name, unless ``work_dir`` has a finished run.

    Raises:
        ValueError: If the snapshot is of another config or schedule.
    """
    done = osp.join(work_dir, 'train_done.json')
    info = finished_run(work_dir)
    if info is not None:
        if not info.get('restored_from'):
            print(f'[teacher] {work_dir} holds a teacher trained here; '
                  f'using it, not {repo_path(snapshot)}', flush=True)
        return
    from mmkd.utils import load_checkpoint_file
    meta = load_checkpoint_file(snapshot).get('meta') or {}
    step, name = teacher_checkpoints(config)[-1]
    unit = name.split('_')[0]
    if meta.get('config', config) != config or meta.get(unit) != step:
        raise ValueError(
            f'{repo_path(snapshot)} holds the teacher of '
            f'{meta.get("config")!r} at {unit} {meta.get(unit)}, not of '
            f'{config!r} at {unit} {step}; delete it to train this one')
    os.makedirs(work_dir, exist_ok=True)
    ckpt = osp.join(work_dir, name)
    shutil.copyfile(snapshot, ckpt)
    # an interrupted run here must not resume over the restored weights
    if osp.exists(osp.join(work_dir, 'last_checkpoint')):
        os.remove(osp.join(work_dir, 'last_checkpoint'))
    write_json(done, dict(checkpoint=ckpt,
                          train_seconds=meta.get('train_seconds', 0),
                          restored_from=repo_path(snapshot)))
    print(f'[teacher] restored {repo_path(snapshot)} -> {ckpt}', flush=True)
