# Copyright (c) OpenMMLab. All rights reserved.
"""The converged teacher of a task: trained, evaluated at each checkpoint
and its WKD-L cost matrix built, every step cached.

A task may keep a weights-only copy of its teacher beside its result files
(``teacher.pth``, committed): a study that spans sessions on fresh machines
then distils every run from the same teacher instead of retraining one
(a retrained teacher differs: thread counts and resumed runs change its
floating-point path)."""
import argparse
import os
import os.path as osp
import shutil
import sys
import time
from typing import List, Tuple

from .plan import load_config, read_result, repo_path, write_json
from .runner import evaluate, git_commit, run_cmd, train, training_curve
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
    checkpoints goes into ``teacher.json`` (where its curve flattens).

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
    if snapshot and osp.exists(snapshot):
        restore_snapshot(snapshot, config, work_dir)
    print(f'[teacher] training {config} (cached when done) ...', flush=True)
    ckpt, seconds = train(config, work_dir, [], threads)
    if snapshot and not osp.exists(snapshot):
        save_snapshot(ckpt, snapshot, seconds)
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
        if not osp.exists(osp.join(work_dir, name)):
            continue  # restored from a snapshot: the final weights only
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


def save_snapshot(ckpt: str, snapshot: str, train_seconds: float) -> None:
    """Keep the weights of ``ckpt`` (no optimizer or message hub) in
    ``snapshot``: tensors and plain metadata, which
    ``torch.load(weights_only=True)`` reads."""
    import torch
    from mmkd.utils import load_checkpoint_file
    state = load_checkpoint_file(ckpt)
    meta = {
        k: v
        for k, v in (state.get('meta') or {}).items()
        if k in ('epoch', 'iter', 'seed', 'mmengine_version')
    }
    meta['train_seconds'] = round(train_seconds)
    torch.save(dict(state_dict=state['state_dict'], meta=meta), snapshot)


def restore_snapshot(snapshot: str, config: str, work_dir: str) -> None:
    """Put the kept teacher where :func:`train` finds a finished run, under
    its final checkpoint's name, unless ``work_dir`` has one already."""
    if osp.exists(osp.join(work_dir, 'train_done.json')):
        return
    name = teacher_checkpoints(config)[-1][1]
    os.makedirs(work_dir, exist_ok=True)
    ckpt = osp.join(work_dir, name)
    shutil.copyfile(snapshot, ckpt)
    from mmkd.utils import load_checkpoint_file
    meta = load_checkpoint_file(snapshot).get('meta') or {}
    write_json(osp.join(work_dir, 'train_done.json'),
               dict(checkpoint=ckpt,
                    train_seconds=meta.get('train_seconds', 0),
                    restored_from=repo_path(snapshot)))
    print(f'[teacher] restored {repo_path(snapshot)} -> {ckpt}', flush=True)
