# Copyright (c) OpenMMLab. All rights reserved.
"""One run: train with ``tools/train.py``, evaluate on val and test with
``tools/test.py`` (subprocesses from the repository root), write its result
file."""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

from .plan import Run, write_json
from .tasks import ROOT, Task


def run_cmd(cmd: List[str], log_file: str, threads: int) -> float:
    """Run ``cmd`` from the repo root with ``threads`` CPU threads.

    Returns:
        float: Wall seconds.

    Raises:
        RuntimeError: If the command fails; the message names the log.
    """
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1')
    start = time.time()
    os.makedirs(osp.dirname(log_file), exist_ok=True)
    with open(log_file, 'w') as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd[1:3])} failed with exit code '
                           f'{proc.returncode}; see {log_file}')
    return time.time() - start


def train(config: str, work_dir: str, options: List[str],
          threads: int) -> Tuple[str, float]:
    """Train unless ``work_dir`` holds a finished run.

    A run stopped part way (a ``last_checkpoint`` but no
    ``train_done.json``) resumes from its last checkpoint, so an interrupted
    session loses at most one checkpoint interval. The resumed run's data
    order differs from an uninterrupted one's from that point.

    Returns:
        tuple[str, float]: The final checkpoint and the training seconds.
    """
    done = osp.join(work_dir, 'train_done.json')
    info = finished_run(work_dir)
    if info is not None:
        return info['checkpoint'], info['train_seconds']
    options = list(options) + [
        'val_dataloader=None', 'val_cfg=None', 'val_evaluator=None'
    ]
    resume = ['--resume'] if osp.exists(
        osp.join(work_dir, 'last_checkpoint')) else []
    log = osp.join(work_dir, 'train_stdout.log')
    if resume and osp.exists(log):
        # keep the interrupted part's log beside the resumed one
        os.replace(log, osp.join(work_dir,
                                 f'train_stdout_{int(time.time())}.log'))
    seconds = run_cmd([
        sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
        *resume, '--cfg-options', *options
    ], log, threads)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    write_json(done, dict(checkpoint=ckpt, train_seconds=seconds))
    return ckpt, seconds


def finished_run(work_dir: str) -> Optional[dict]:
    """``work_dir``'s ``train_done.json`` if its checkpoint is still there,
    else None."""
    done = osp.join(work_dir, 'train_done.json')
    if not osp.exists(done):
        return None
    with open(done) as f:
        info = json.load(f)
    return info if osp.exists(info['checkpoint']) else None


def evaluate(task: Task, config: str, ckpt: str, work_dir: str, split: str,
             options: List[str], threads: int) -> Dict[str, float]:
    """The task's metrics of ``ckpt`` on ``split`` with ``tools/test.py``."""
    out = osp.join(work_dir, f'{split}_metrics.json')
    if osp.exists(out) and osp.getmtime(out) > osp.getmtime(ckpt):
        with open(out) as f:
            return json.load(f)
    test_dir = osp.join(work_dir, f'test_{split}')
    run_cmd([
        sys.executable, 'tools/test.py', config, ckpt, '--work-dir',
        test_dir, '--cfg-options', *options, *task.split_options(split)
    ], osp.join(work_dir, f'test_{split}_stdout.log'), threads)
    metrics = last_json_line(test_dir)
    metrics = {
        k: v
        for k, v in metrics.items() if k.startswith(task.prefixes)
    }
    write_json(out, metrics)
    return metrics


def last_json_line(log_root: str) -> dict:
    """The last record of the newest ``<timestamp>/<timestamp>.json``."""
    runs = sorted(d for d in os.listdir(log_root)
                  if osp.isdir(osp.join(log_root, d)) and d[:1].isdigit())
    path = osp.join(log_root, runs[-1], f'{runs[-1]}.json')
    if not osp.exists(path):
        path = osp.join(log_root, runs[-1], 'vis_data', f'{runs[-1]}.json')
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def training_curve(work_dir: str) -> List[dict]:
    """The logged losses of a training run (every ``logger.interval``).

    Keeps ``iter`` (``step`` and ``epoch`` where logged), ``lr``, ``loss``,
    the student's losses (``loss*`` or
    ``student.loss*``), the distillation terms (``distill.loss*``) and
    ``distill_weight_scale``, rounded to 5 significant digits. A resumed
    run's parts (one timestamped directory each) are joined, the later part
    winning where they overlap.
    """
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isdir(osp.join(work_dir, d)) and d[:1].isdigit())
    by_iter = {}
    for run in runs:
        path = osp.join(work_dir, run, 'vis_data', 'scalars.json')
        if osp.exists(path):
            for rec in _curve_records(path):
                by_iter[rec['iter']] = rec
    return [by_iter[k] for k in sorted(by_iter)]


def _curve_records(path: str) -> List[dict]:
    """The kept training records of one ``scalars.json``."""
    curve = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if 'iter' not in rec or 'loss' not in rec:
                continue
            keep = {k: rec[k] for k in ('iter', 'step', 'epoch') if k in rec}
            for key, value in rec.items():
                short = key.split('.', 1)[-1]
                if key in ('lr', 'distill_weight_scale') or \
                        short.startswith('loss'):
                    keep[key] = float(f'{value:.5g}')
            curve.append(keep)
    return curve


def git_commit() -> str:
    try:
        return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                              cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def do_run(run: Run, args: argparse.Namespace, task: Task,
           options: List[str]) -> dict:
    """Train, evaluate on val and test, and write the run's result file.

    Runs in a worker thread: everything here is subprocesses and files
    (``options`` come from the main thread, where configs are read).
    """
    work_dir = osp.join(args.work_dir, run.id)
    config = run.variant.config
    ckpt, train_seconds = train(config, work_dir, options, args.threads)
    start = time.time()
    metrics = {
        split: evaluate(task, config, ckpt, work_dir, split, options,
                        args.threads)
        for split in ('val', 'test')
    }
    result = dict(
        id=run.id, variant=run.variant.name, label=run.variant.label,
        config=config, seed=run.seed, knob=run.variant.knob,
        value=run.value, options=options, metrics=metrics,
        curve=training_curve(work_dir), train_seconds=round(train_seconds),
        eval_seconds=round(time.time() - start), threads=args.threads,
        jobs=args.jobs, commit=git_commit(),
        finished=time.strftime('%Y-%m-%d %H:%M'))
    write_json(osp.join(args.results, f'{run.id}.json'), result)
    return result
