# Copyright (c) OpenMMLab. All rights reserved.
"""The main job: toy digits distillation, end to end, with a COCO mAP table.

Generates the toy digits data, trains the toy teacher, builds the WKD-L cost
matrix from the trained teacher (``tools/build_cost_matrix.py``), trains the
student baseline and the student distilled with WKD-L+F (same schedule and
seed), evaluates each on the held-out test split with ``tools/test.py``
(mmdet's CocoMetric) and prints a table. The teacher is the quick 1x one
(600 iterations, like the students) so that the demo stays under 30 minutes;
it is not converged, and the distilled student can pass it. The evidence
study (``tools/benchmarks/distill_study.py``) uses the 3x teacher. Every
stage is cached in
``--work-dir``: a finished stage (final checkpoint, metrics file) is reused,
so re-running only does what is missing; a training run whose config (with
its ``_base_`` files and options) changed since is redone, and so is a
distillation run whose teacher was retrained or whose cost matrix was
rebuilt; ``--force`` redoes everything.

Usage::

    python tools/toy_demo.py [--work-dir work_dirs/toy_demo] [--force]
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs', 'toy_digits')

#: (name, config, role) in the order they run. Distillation runs come after
#: the teacher and read its checkpoint and the cost matrix.
RUNS = [
    ('teacher', 'faster-rcnn_r50-w32_fpn_toy-digits.py', 'teacher'),
    ('student', 'faster-rcnn_r18-w16_fpn_toy-digits.py', 'student baseline'),
    ('wkd-lf', 'faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-lf_toy-digits.py',
     'student + WKD-L + WKD-F (RoI)'),
]
TEACHER_CONFIG = RUNS[0][1]
#: The split every reported number is on (weights are chosen on val).
TEST_ANN = osp.join(ROOT, 'data', 'toy_digits', 'det', 'annotations',
                    'instances_test.json')


def run(cmd: List[str], log_file: str) -> float:
    """Run ``cmd`` from the repo root, teeing its output to ``log_file``.

    Returns:
        float: The wall time in seconds.

    Raises:
        RuntimeError: If the command fails; the message names the log.
    """
    print('$ ' + ' '.join(cmd), flush=True)
    start = time.time()
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True)
        for line in proc.stdout:
            log.write(line)
            # Keep the console readable: progress lines only.
            if ' - mmengine - INFO - Iter' in line or 'bbox_mAP' in line:
                print('  ' + line.rstrip()[-150:], flush=True)
        proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(
            f'command failed with exit code {proc.returncode}; see '
            f'{log_file}')
    return time.time() - start


def final_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint named in ``last_checkpoint`` if training finished."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(marker):
        return None
    with open(marker) as f:
        ckpt = f.read().strip()
    done = osp.join(work_dir, 'train_done.json')
    return ckpt if osp.exists(ckpt) and osp.exists(done) else None


def config_fingerprint(config: str,
                       options: Optional[List[str]],
                       depends: Sequence[str] = ()) -> str:
    """SHA-256 of what decides a training run: the config as mmengine
    merges it (``_base_`` files included), the options and ``depends``
    (e.g. the teacher's fingerprint). Paths inside the repository are
    written relative to it, so a moved clone keeps its cache."""
    from mmengine.config import Config
    cfg = Config.fromfile(config, import_custom_modules=False).to_dict()
    text = json.dumps([cfg, list(options or []), list(depends)],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.replace(ROOT, '<repo>').encode()).hexdigest()


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes."""
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def train(name: str,
          config: str,
          work_dir: str,
          force: bool,
          options: Optional[List[str]] = None,
          depends: Sequence[str] = ()) -> Dict:
    """Train one config unless a finished run of the same config, options
    and ``depends`` (see :func:`config_fingerprint`) is cached."""
    ckpt = final_checkpoint(work_dir)
    done = osp.join(work_dir, 'train_done.json')
    fingerprint = config_fingerprint(config, options, depends)
    if ckpt and not force:
        with open(done) as f:
            info = json.load(f)
        if info.get('config_sha256') == fingerprint:
            print(f'[{name}] reusing {ckpt} (trained in '
                  f'{info["train_seconds"] / 60:.1f} min)')
            return info
        why = ('was trained by an older tools/toy_demo.py, which did not '
               'record its config' if 'config_sha256' not in info else
               'was trained with another config, teacher or cost matrix')
        print(f'[{name}] {ckpt} {why}; training again')
    os.makedirs(work_dir, exist_ok=True)
    # No validation inside training: ``evaluate`` runs tools/test.py on the
    # final checkpoint, which is the same CocoMetric on the same split.
    options = list(options or []) + [
        'val_dataloader=None', 'val_cfg=None', 'val_evaluator=None'
    ]
    seconds = run([
        sys.executable,
        osp.join('tools', 'train.py'), config, '--work-dir', work_dir,
        '--cfg-options', *options
    ], osp.join(work_dir, 'train_stdout.log'))
    ckpt = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    info = dict(
        checkpoint=ckpt, train_seconds=seconds, config_sha256=fingerprint)
    with open(done, 'w') as f:
        json.dump(info, f)
    return info


def evaluate(name: str,
             config: str,
             ckpt: str,
             work_dir: str,
             force: bool,
             options: Optional[List[str]] = None) -> Dict:
    """COCO-evaluate one checkpoint on the test split with tools/test.py.

    Cached: the metrics file is reused while it is newer than both the
    checkpoint and the test annotations (regenerated data re-evaluates).
    """
    out = osp.join(work_dir, 'test_metrics.json')
    inputs = [ckpt]
    if osp.exists(TEST_ANN):
        inputs.append(TEST_ANN)
    if osp.exists(out) and not force and \
            osp.getmtime(out) > max(osp.getmtime(p) for p in inputs):
        with open(out) as f:
            return json.load(f)
    test_dir = osp.join(work_dir, 'test')
    run([
        sys.executable,
        osp.join('tools', 'test.py'), config, ckpt, '--work-dir', test_dir,
        *(['--cfg-options', *options] if options else [])
    ], osp.join(work_dir, 'test_stdout.log'))
    # LoggerHook writes the test metrics to <log_dir>/<timestamp>.json.
    latest = sorted(glob.glob(osp.join(test_dir, '*', '*.json')))[-1]
    with open(latest) as f:
        metrics = json.loads(f.read().strip().splitlines()[-1])
    with open(out, 'w') as f:
        json.dump(metrics, f)
    return metrics


def build_cost_matrix(teacher_ckpt: str, cost_file: str,
                      force: bool) -> None:
    """Build the teacher's CKA cost matrix over its RoI features (cached)."""
    if osp.exists(cost_file) and not force and \
            osp.getmtime(cost_file) > osp.getmtime(teacher_ckpt):
        print(f'[cost matrix] reusing {cost_file}')
        return
    os.makedirs(osp.dirname(cost_file), exist_ok=True)
    run([
        sys.executable,
        osp.join('tools', 'build_cost_matrix.py'),
        osp.join(CONFIG_DIR, TEACHER_CONFIG), cost_file, '--checkpoint',
        teacher_ckpt, '--kappa', '1.0', '--num-per-class', '100'
    ], osp.join(osp.dirname(cost_file), 'build_stdout.log'))


def format_table(rows: List[Dict]) -> str:
    """A markdown table of the runs' COCO metrics and training times."""
    lines = [
        '| model | role | bbox_mAP | AP50 | AP75 | train time |',
        '|---|---|---|---|---|---|'
    ]
    for r in rows:
        m = r['metrics']
        lines.append(
            f"| {r['name']} | {r['role']} | {m['coco/bbox_mAP']:.3f} | "
            f"{m['coco/bbox_mAP_50']:.3f} | {m['coco/bbox_mAP_75']:.3f} | "
            f"{r['train_seconds'] / 60:.1f} min |")
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/toy_demo')
    parser.add_argument(
        '--force', action='store_true', help='redo every cached stage')
    args = parser.parse_args()
    work_root = osp.join(ROOT, args.work_dir)
    os.makedirs(work_root, exist_ok=True)
    total = time.time()

    # The toy configs read data/toy_digits/ (relative to the repo root).
    run([
        sys.executable,
        osp.join('tools', 'make_toy_data.py'), '--out-dir', 'data/toy_digits'
    ] + (['--force'] if args.force else []),
        osp.join(work_root, 'data_stdout.log'))

    rows = []
    teacher_ckpt, teacher_sha = None, ''
    cost_file = osp.join(work_root, 'cost_matrix', 'toy-teacher_cka-k1.pth')
    for name, cfg_name, role in RUNS:
        config = osp.join(CONFIG_DIR, cfg_name)
        work_dir = osp.join(work_root, name)
        options = None
        depends: List[str] = []
        if teacher_ckpt is not None and 'to-' in cfg_name:
            build_cost_matrix(teacher_ckpt, cost_file, args.force)
            # The distillation configs' CostMatrixHook is the first custom
            # hook; pointing it at the built file makes it load, not build.
            options = [
                f'model.teacher_ckpt={teacher_ckpt}',
                f'custom_hooks.0.cost_file={cost_file}'
            ]
            # a retrained teacher or rebuilt cost matrix retrains the student
            depends = [teacher_sha, file_sha256(cost_file)]
        info = train(name, config, work_dir, args.force, options, depends)
        if name == 'teacher':
            teacher_ckpt = info['checkpoint']
            teacher_sha = info['config_sha256']
        metrics = evaluate(name, config, info['checkpoint'], work_dir,
                           args.force, options)
        rows.append(dict(name=name, role=role, metrics=metrics, **info))

    table = format_table(rows)
    with open(osp.join(work_root, 'results.md'), 'w') as f:
        f.write(table + '\n')
    print('\nToy digits, COCO bbox metrics on the held-out test split:\n')
    print(table)
    print(f'\nwall time of this run: {(time.time() - total) / 60:.1f} min; '
          f'table saved to {osp.join(args.work_dir, "results.md")}')


if __name__ == '__main__':
    main()
