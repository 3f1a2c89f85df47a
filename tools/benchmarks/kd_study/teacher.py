# Copyright (c) OpenMMLab. All rights reserved.
"""The converged teacher of a task: trained, evaluated at each checkpoint
and its WKD-L cost matrix built, every step cached."""
import argparse
import os.path as osp
import sys
import time
from typing import List, Tuple

from .plan import load_config, read_result, write_json
from .runner import evaluate, git_commit, run_cmd, train, training_curve
from .tasks import Task


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
    checkpoints goes into ``teacher.json`` (where its curve flattens).

    Returns:
        tuple[str, str]: The teacher checkpoint and the cost matrix file.
    """
    config = task.teacher_config
    work_dir = osp.join(args.work_dir, 'teacher')
    stem = osp.splitext(osp.basename(config))[0]
    cost_file = osp.join(args.work_dir, 'cost_matrix', f'{stem}_cka-k1.pth')
    out = osp.join(args.results, 'teacher.json')
    threads = args.jobs * args.threads  # the teacher runs alone
    print(f'[teacher] training {config} (cached when done) ...', flush=True)
    ckpt, seconds = train(config, work_dir, [], threads)
    if not osp.exists(cost_file) or \
            osp.getmtime(cost_file) < osp.getmtime(ckpt):
        print('[teacher] building the cost matrix ...', flush=True)
        run_cmd([
            sys.executable, 'tools/build_cost_matrix.py', config,
            cost_file, '--checkpoint', ckpt, '--kappa', '1.0',
            *task.cost_args
        ], osp.join(osp.dirname(cost_file), 'build_stdout.log'), threads)
    if read_result(args.results, 'teacher') is not None:
        return ckpt, cost_file
    print('[teacher] evaluating its checkpoints on val ...', flush=True)
    val_curve = []
    for step, name in teacher_checkpoints(config):
        m = evaluate(task, config, osp.join(work_dir, name),
                     osp.join(work_dir, f'at_{step}'), 'val', [], threads)
        val_curve.append(dict(step=step, **m))
        print(f'  {name}: val {task.metric} {m[task.metric]:.3f}',
              flush=True)
    metrics = {
        split: evaluate(task, config, ckpt, work_dir, split, [], threads)
        for split in ('val', 'test')
    }
    import torch
    from mmkd.apis.cost_io import load_cost_matrix_and_record
    matrix, record = load_cost_matrix_and_record(cost_file)
    write_json(out, dict(
        id='teacher', config=config, metrics=metrics,
        val_curve=val_curve, curve=training_curve(work_dir),
        train_seconds=round(seconds), threads=threads,
        cost_matrix=torch.as_tensor(matrix).double().tolist(),
        cost_matrix_classes=list((record or {}).get('class_names') or []),
        commit=git_commit(), finished=time.strftime('%Y-%m-%d %H:%M')))
    return ckpt, cost_file
