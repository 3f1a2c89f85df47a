# Copyright (c) OpenMMLab. All rights reserved.
"""The toy distillation studies: a weight sweep on val, 3 seeds on test.

One command trains and evaluates every toy variant of a task from the same
converged teacher and cost matrix::

    python tools/benchmarks/distill_study.py                 # detection
    python tools/benchmarks/distill_study.py --task cls      # classification
    python tools/benchmarks/distill_study.py --stage sweep
    python tools/benchmarks/distill_study.py --stage seeds --jobs 2
    python tools/benchmarks/distill_study.py --list          # what is left

Stages, in order (``--stage all`` runs them in turn):

* ``teacher``: trains the task's converged teacher
  (``configs/toy_digits/faster-rcnn_r50-w32_fpn_3x_toy-digits.py``,
  ``configs/toy_digits_cls/resnet18-w16_60e-mixup_toy-digits-cls.py``),
  evaluates each of its regular checkpoints on val (where the curve
  flattens) and the final one on val and test, and builds the WKD-L cost
  matrix from it (``tools/build_cost_matrix.py``). A task with a
  ``teacher_snapshot`` (the toy CRD teacher) restores it instead of
  training on a fresh machine, and writes it after training.
* ``sweep``: seed 0, each variant's loss weight at three values, 4x apart
  around the config's earlier value (:data:`TASKS`), extended by a 4x step
  while the best sits at an end of the grid (twice at most). Chosen on
  **val**.
* ``seeds``: seeds 0, 1, 2 of the student alone and every variant at the
  weight in its config. Reported on **test**. The stage refuses to start
  while a config's weight is not the one its sweep picked on val (put the
  chosen value in the config, or pass ``--ignore-sweep``).

Each run trains with ``tools/train.py`` (one thread, ``--jobs`` runs side by
side), then evaluates the final checkpoint with ``tools/test.py`` on val and
on test, and writes one small JSON file to ``--results`` (metrics, the
training curve read from the run's log, the options, times). Finished runs
are skipped, so the study can be stopped and resumed, across sessions; the
result files are meant to be committed. ``tools/benchmarks/study_report.py``
turns them into the tables and figures of the READMEs. A sweep point and
the seed-0 study run at the same weight are one training (same config,
weight and seed), evaluated on both splits; only val picks weights.
"""
import argparse
import os.path as osp
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Dict, List

from kd_study.plan import (Run, check_sweep, config_value, read_result,
                           seed_runs, sweep_choice, sweep_runs, sweep_values,
                           write_json)
from kd_study.roi_example import roi_example
from kd_study.runner import do_run, training_curve
from kd_study.tasks import GRID, MAX_EXTEND, ROOT, SEEDS, TASKS, Task
from kd_study.teacher import prepare_teacher, teacher_checkpoints

# What the tests and study_report.py read from here (the pieces live in
# kd_study/; run_all and main look do_run, prepare_teacher and run_all up
# here, so a test can replace them).
__all__ = [
    'GRID', 'MAX_EXTEND', 'ROOT', 'SEEDS', 'TASKS', 'Run', 'Task',
    'check_sweep', 'config_value', 'do_run', 'main', 'parse_args',
    'prepare_teacher', 'read_result', 'roi_example', 'run_all', 'seed_runs',
    'sweep_choice', 'sweep_runs', 'sweep_values', 'teacher_checkpoints',
    'training_curve', 'write_json'
]


def _fmt(seconds: float) -> str:
    seconds = int(seconds)
    return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


def run_all(runs: List[Run], args: argparse.Namespace, task: Task,
            teacher_ckpt: str, cost_file: str) -> int:
    """Run what is not finished, ``args.jobs`` at a time, with progress.

    Returns:
        int: The number of failed runs.
    """
    todo = [r for r in runs if read_result(args.results, r.id) is None]
    done_before = len(runs) - len(todo)
    print(f'{len(runs)} runs, {done_before} finished before, {len(todo)} to '
          f'do, {args.jobs} at a time with {args.threads} thread(s) each',
          flush=True)
    if not todo:
        return 0
    # mmengine's Config.fromfile is not safe in threads (runs failed with
    # "'NoneType' object has no attribute 'find'"), so read every config
    # here, before the workers start.
    options = {r.id: r.options(teacher_ckpt, cost_file) for r in todo}
    start, durations, failed = time.time(), [], 0
    running: Dict[str, float] = {}
    lock = threading.Lock()

    def job(run: Run) -> dict:
        with lock:
            running[run.id] = time.time()
        try:
            return do_run(run, args, task, options[run.id])
        finally:
            with lock:
                durations.append(time.time() - running.pop(run.id))

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(job, r): r for r in todo}
        for n, fut in enumerate(as_completed(futures), 1):
            run = futures[fut]
            try:
                res = fut.result()
                what = (f'val {res["metrics"]["val"][task.metric]:.3f} '
                        f'test {res["metrics"]["test"][task.metric]:.3f}')
            except Exception as e:  # report, keep the other runs going
                failed += 1
                what = f'FAILED: {e}'
            elapsed = time.time() - start
            left = len(todo) - n
            eta = (sum(durations) / len(durations)) * left / args.jobs
            total = done_before + n
            bar = '#' * (20 * total // len(runs))
            print(f'[{bar:<20}] {total}/{len(runs)} {run.id}: {what} | '
                  f'elapsed {_fmt(elapsed)}, about {_fmt(eta)} left',
                  flush=True)
    return failed


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Toy distillation study (sweep on val, 3 seeds on test)')
    parser.add_argument('--task', default='det', choices=list(TASKS),
                        help='detection (default) or classification toy')
    parser.add_argument('--stage', default='all',
                        choices=['all', 'teacher', 'sweep', 'seeds'])
    parser.add_argument('--variants', nargs='+',
                        help='only these variants (default: all of the '
                        'task)')
    parser.add_argument('--seeds', nargs='+', type=int, default=list(SEEDS))
    parser.add_argument('--jobs', type=int, default=2,
                        help='runs side by side')
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads of each run')
    parser.add_argument('--work-dir',
                        help='default: work_dirs/study_<task>')
    parser.add_argument(
        '--results',
        help='where the per-run result files go (committed); default: '
        'tools/benchmarks/results/toy_<task>_study')
    parser.add_argument('--ignore-sweep', action='store_true',
                        help='run the seeds even where a config weight is '
                        'not the sweep\'s choice')
    parser.add_argument('--list', action='store_true',
                        help='print the runs and whether each is finished')
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.threads < 1:
        parser.error('--jobs and --threads must be at least 1')
    task = TASKS[args.task]
    unknown = sorted(set(args.variants or ()) - set(task.variants))
    if unknown:
        parser.error(f'unknown variants {unknown} for --task {task.name}; '
                     f'choose from {list(task.variants)}')
    args.work_dir = osp.join(ROOT, args.work_dir
                             or osp.join('work_dirs', f'study_{task.name}'))
    args.results = osp.join(ROOT, args.results or task.results)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    task = TASKS[args.task]
    variants = [task.variants[n] for n in (args.variants or task.variants)]
    stages = (['teacher', 'sweep', 'seeds']
              if args.stage == 'all' else [args.stage])
    if args.list:
        runs = sweep_runs(variants, task, args.results) + seed_runs(
            variants, args.seeds)
        seen = set()
        for r in runs:
            if r.id not in seen:
                seen.add(r.id)
                mark = 'done' if read_result(args.results, r.id) else 'todo'
                print(f'{mark}  {r.id}')
        return 0
    teacher_ckpt, cost_file = prepare_teacher(args, task)
    failed = 0
    if 'sweep' in stages:
        # A round's results can extend a sweep (a best value at an end of
        # its grid), so run rounds until nothing new is needed.
        while True:
            runs = sweep_runs(variants, task, args.results)
            if all(read_result(args.results, r.id) for r in runs):
                break
            round_failed = run_all(runs, args, task, teacher_ckpt,
                                   cost_file)
            failed += round_failed
            if round_failed:
                break
    if 'seeds' in stages:
        problems = check_sweep(task,
                               [v for v in variants if v.knob or v.uses],
                               args.results)
        if problems and not args.ignore_sweep:
            print('the seeds stage needs the sweep\'s choices in the '
                  'configs:\n  ' + '\n  '.join(problems) +
                  '\n(or pass --ignore-sweep)', file=sys.stderr)
            return 2
        failed += run_all(seed_runs(variants, args.seeds), args, task,
                          teacher_ckpt, cost_file)
        if task.name == 'det':
            roi_example(args, teacher_ckpt, cost_file)
    if failed:
        print(f'{failed} run(s) failed; their logs are named above',
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
