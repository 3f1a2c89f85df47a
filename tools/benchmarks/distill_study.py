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
  matrix from it (``tools/build_cost_matrix.py``).
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
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable, Dict, List, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEEDS = (0, 1, 2)
#: The loss-weight grids: 4x apart, the middle one the config's value
#: before the sweep.
GRID = (0.25, 1.0, 4.0)
#: How many steps a sweep may add beyond its grid (see sweep_values).
MAX_EXTEND = 2


class Variant:
    """One variant of a study: the student alone or a distillation config.

    Args:
        name (str): Short name, used in run ids and tables.
        config (str): Config path from the repository root.
        label (str): Row label for tables.
        knob (str, optional): The ``--cfg-options`` key of the loss weight
            the sweep varies. Defaults to None (no sweep).
        sweep (Sequence[float]): The knob's values in the sweep.
        uses (Sequence[str]): Variants whose chosen knob values this one
            must carry (the combinations). Defaults to ().
        options (Sequence[str]): Extra ``--cfg-options`` of every run.
    """

    def __init__(self,
                 name: str,
                 config: str,
                 label: str,
                 knob: Optional[str] = None,
                 sweep: Sequence[float] = (),
                 uses: Sequence[str] = (),
                 options: Sequence[str] = ()) -> None:
        self.name = name
        self.config = config
        self.label = label
        self.knob = knob
        self.sweep = tuple(sweep)
        self.uses = tuple(uses)
        self.options = tuple(options)

    @property
    def distills(self) -> bool:
        return self.name != 'student'


class Task:
    """What differs between the detection and the classification study.

    Args:
        name (str): ``'det'`` or ``'cls'``.
        teacher_config (str): The converged teacher's config.
        variants (Sequence[Variant]): The student alone first, then the
            distillation variants, in table order.
        metric (str): The metric that picks weights (higher is better).
        prefixes (Sequence[str]): Metric-name prefixes kept in results.
        split_options (Callable): Split name -> ``--cfg-options`` that point
            the test loop at that split.
    """

    def __init__(self, name: str, teacher_config: str,
                 variants: Sequence[Variant], metric: str,
                 prefixes: Sequence[str],
                 split_options: Callable[[str], List[str]]) -> None:
        self.name = name
        self.teacher_config = teacher_config
        self.variants: Dict[str, Variant] = {v.name: v for v in variants}
        self.metric = metric
        self.prefixes = tuple(prefixes)
        self.split_options = split_options

    @property
    def student_config(self) -> str:
        return self.variants['student'].config

    @property
    def results(self) -> str:
        """Default folder of the result files (committed)."""
        return osp.join('tools', 'benchmarks', 'results',
                        f'toy_{self.name}_study')


def _grid(center: float) -> Tuple[float, ...]:
    return tuple(round(center * g, 10) for g in GRID)


_W = 'model.distill_losses.{}.loss_weight'
_WD = 'model.distill_losses.loss_wkd_l.wd_weight'
DET_DIR = osp.join('configs', 'toy_digits')
DET_DATA = 'data/toy_digits/det/'


def _det(kind: str) -> str:
    return osp.join(DET_DIR,
                    f'faster-rcnn_r50-w32-to-r18-w16_fpn_{kind}_toy-digits.py')


def det_split_options(split: str) -> List[str]:
    """``--cfg-options`` that point a toy detection test loop at ``split``."""
    return [
        f'test_dataloader.dataset.ann_file=annotations/instances_{split}.json',
        f'test_dataloader.dataset.data_prefix.img=images/{split}/',
        f'test_evaluator.ann_file={DET_DATA}annotations/'
        f'instances_{split}.json',
    ]


def cls_split_options(split: str) -> List[str]:
    """``--cfg-options`` that point a toy classification test loop at
    ``split``."""
    return [f'test_dataloader.dataset.data_prefix={split}']


def _one_stage(detector: str, kind: str) -> str:
    return osp.join(
        DET_DIR, f'{detector}_r50-w32-to-r18-w16_fpn_{kind}_toy-digits.py')


def one_stage_task(detector: str) -> 'Task':
    """The toy study of a one-stage detector (``'gfl'`` or
    ``'retinanet'``): the student alone, KD and WKD-L on the dense class
    outputs, FitNet and WKD-F on FPN, and for GFL the box-bin terms (W1,
    LD's KL through mmkd, and mmdet's own LD detector)."""
    def pair(kind: str) -> str:
        return _one_stage(detector, kind)

    variants = [
        Variant('student',
                osp.join(DET_DIR, f'{detector}_r18-w16_fpn_toy-digits.py'),
                'student alone'),
        Variant('kd', pair('kd'), 'KD (dense class outputs)',
                _W.format('loss_kd'), _grid(1.0)),
        Variant('wkd-l', pair('wkd-l'), 'WKD-L (dense, exclusive)', _WD,
                _grid(10.0)),
        Variant('fitnet', pair('fitnet'), 'FitNet (FPN)',
                _W.format('loss_fitnet'), _grid(1.0)),
        Variant('wkd-f-fpn', pair('wkd-f-fpn'), 'WKD-F (FPN)',
                _W.format('loss_wkd_f'), _grid(0.01)),
        Variant('wkd-f-fpn-gt', pair('wkd-f-fpn-gt'),
                'WKD-F (FPN, GT regions)', uses=('wkd-f-fpn', )),
        Variant('wkd-lf', pair('wkd-lf'), 'WKD-L + WKD-F',
                uses=('wkd-l', 'wkd-f-fpn')),
    ]
    if detector == 'gfl':
        variants[3:3] = [
            Variant('wkd-l-normalized', pair('wkd-l-normalized'),
                    'WKD-L (dense, normalized)', uses=('wkd-l', )),
            Variant('wkd-box', pair('wkd-box'), 'W1 on box bins',
                    _W.format('loss_box'), _grid(0.25)),
            Variant('kl-box', pair('kl-box'), 'KL on box bins (LD, mmkd)',
                    _W.format('loss_box'), _grid(0.25)),
            Variant('ld', osp.join(
                DET_DIR, 'ld_r18-w16-gfl-r50-w32_fpn_toy-digits.py'),
                'LD (mmdet, as configured)'),
        ]
        variants.append(
            Variant('wkd-lf-box', pair('wkd-lf-box'),
                    'WKD-L + WKD-F + W1 box',
                    uses=('wkd-l', 'wkd-f-fpn', 'wkd-box')))
    return Task(
        detector,
        osp.join(DET_DIR, f'{detector}_r50-w32_fpn_3x_toy-digits.py'),
        variants, 'coco/bbox_mAP', ('coco/', ), det_split_options)


CLS_DIR = osp.join('configs', 'toy_digits_cls')


def _cls(kind: str) -> str:
    return osp.join(CLS_DIR, f'{kind}_r18-w16-to-r18-w8_toy-digits-cls.py')


TASKS: Dict[str, Task] = {
    'det': Task(
        'det', osp.join(DET_DIR, 'faster-rcnn_r50-w32_fpn_3x_toy-digits.py'),
        [
            Variant('student',
                    osp.join(DET_DIR, 'faster-rcnn_r18-w16_fpn_toy-digits.py'),
                    'student alone'),
            Variant('kd', _det('kd'), 'KD (RoI logits)',
                    _W.format('loss_kd'), _grid(1.0)),
            Variant('dkd', _det('dkd'), 'DKD (RoI logits)',
                    _W.format('loss_dkd'), _grid(1.0)),
            Variant('wkd-l', _det('wkd-l'), 'WKD-L (RoI logits)', _WD,
                    _grid(10.0)),
            Variant('fitnet', _det('fitnet'), 'FitNet (FPN)',
                    _W.format('loss_fitnet'), _grid(1.0)),
            Variant('wkd-f-roi', _det('wkd-f'), 'WKD-F (RoI features)',
                    _W.format('loss_wkd_f'), _grid(0.02)),
            Variant('wkd-f-fpn', _det('wkd-f-fpn'), 'WKD-F (FPN)',
                    _W.format('loss_wkd_f'), _grid(0.01)),
            Variant('wkd-lf', _det('wkd-lf'), 'WKD-L + WKD-F (RoI)',
                    uses=('wkd-l', 'wkd-f-roi')),
            Variant('wkd-lf-bbox', _det('wkd-lf-bbox'),
                    'WKD-L + WKD-F + box KD', uses=('wkd-l', 'wkd-f-roi')),
            # The overhead issue's cheaper option: the foreground RoIs only.
            Variant('wkd-f-roi-fg', _det('wkd-f'),
                    'WKD-F (RoI, fg RoIs only)', uses=('wkd-f-roi', ),
                    options=('model.distill_inputs.loss_wkd_f.rois=fg', )),
        ], 'coco/bbox_mAP', ('coco/', ), det_split_options),
    'cls': Task(
        'cls', osp.join(CLS_DIR, 'resnet18-w16_60e-mixup_toy-digits-cls.py'),
        [
            Variant('student',
                    osp.join(CLS_DIR, 'resnet18-w8_toy-digits-cls.py'),
                    'student alone'),
            Variant('kd', _cls('kd'), 'KD', _W.format('loss_kd'),
                    _grid(0.9)),
            Variant('dkd', _cls('dkd'), 'DKD', _W.format('loss_dkd'),
                    _grid(1.0)),
            Variant('wkd-l', _cls('wkd-l'), 'WKD-L', _WD, _grid(30.0)),
            Variant('wkd-f', _cls('wkd-f'), 'WKD-F', _W.format('loss_wkd_f'),
                    _grid(0.05)),
            Variant('wkd-lf', _cls('wkd-lf'), 'WKD-L + WKD-F',
                    uses=('wkd-l', 'wkd-f')),
        ], 'accuracy/top1', ('accuracy/', 'calibration/'),
        cls_split_options),
    'gfl': one_stage_task('gfl'),
    'retinanet': one_stage_task('retinanet'),
}


class Run:
    """One training + evaluation of the study.

    Args:
        variant (Variant): What to train.
        seed (int): ``randomness.seed``.
        value (float, optional): The knob's value; None for variants
            without a knob. Defaults to None.
    """

    def __init__(self,
                 variant: Variant,
                 seed: int,
                 value: Optional[float] = None) -> None:
        self.variant = variant
        self.seed = seed
        self.value = value

    @property
    def id(self) -> str:
        knob = ''
        if self.value is not None:
            knob = f'_{self.variant.knob.rsplit(".", 1)[-1]}={self.value:g}'
        return f'{self.variant.name}{knob}_s{self.seed}'

    def options(self, teacher_ckpt: str, cost_file: str) -> List[str]:
        """The ``--cfg-options`` of the run."""
        opts = [f'randomness.seed={self.seed}']
        if self.value is not None:
            opts.append(f'{self.variant.knob}={self.value!r}')
        if self.variant.distills:
            opts.append(f'model.teacher_ckpt={teacher_ckpt}')
            opts += cost_options(self.variant.config, cost_file)
        return opts + list(self.variant.options)


def load_config(path: str):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, path))


def cost_options(config: str, cost_file: str) -> List[str]:
    """``--cfg-options`` that give a config the study's cost matrix.

    Through its ``mmkd.CostMatrixHook`` (which then loads, not builds) if it
    has one, else through each loss's ``cost_matrix`` argument.
    """
    cfg = load_config(config)
    for i, hook in enumerate(cfg.get('custom_hooks', [])):
        if hook['type'] in ('mmkd.CostMatrixHook', 'CostMatrixHook'):
            return [f'custom_hooks.{i}.cost_file={cost_file}']
    losses = cfg.model.get('distill_losses') or {}
    return [
        f'model.distill_losses.{name}.cost_matrix={cost_file}'
        for name, loss in losses.items() if 'cost_matrix' in loss
    ]


def config_value(config: str, key: str) -> float:
    """The value at dotted ``key`` of a config."""
    node = load_config(config)
    for part in key.split('.'):
        node = node[part]
    return float(node)


# ----------------------------------------------------------------- results
def read_result(results: str, run_id: str) -> Optional[dict]:
    path = osp.join(results, f'{run_id}.json')
    if not osp.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def write_json(path: str, data: dict) -> None:
    """Write ``data`` atomically (a killed study leaves no half file)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    os.replace(tmp, path)


def sweep_values(variant: Variant, lookup: Callable[[str], Optional[dict]],
                 metric: str) -> List[float]:
    """The values a variant's sweep needs, given what has finished.

    The grid, extended by one more step of its ratio (4x) beyond an end
    while the best finished value on val sits at that end, at most
    :data:`MAX_EXTEND` times: a best value at the edge of the grid says the
    optimum may lie outside it.

    Args:
        variant (Variant): A variant with a knob.
        lookup (Callable): Run id -> its result, or None if not finished.
        metric (str): The task's metric (higher is better).

    Returns:
        list[float]: Increasing values; the last extension may be
        unfinished.
    """
    values = list(variant.sweep)
    ratio = GRID[1] / GRID[0]
    for _ in range(MAX_EXTEND):
        results = [lookup(Run(variant, 0, v).id) for v in values]
        if any(r is None for r in results):
            break
        scores = [r['metrics']['val'][metric] for r in results]
        best = scores.index(max(scores))
        if best == len(values) - 1:
            values.append(round(values[-1] * ratio, 10))
        elif best == 0:
            values.insert(0, round(values[0] / ratio, 10))
        else:
            break
    return values


def sweep_choice(variant: Variant,
                 lookup: Callable[[str], Optional[dict]],
                 metric: str) -> Optional[float]:
    """The sweep value with the best val ``metric``; None while any value
    of :func:`sweep_values` is unfinished.

    Args:
        variant (Variant): A variant with a knob.
        lookup (Callable): Run id -> its result, or None if not finished.
        metric (str): The task's metric (higher is better).
    """
    best = None
    for value in sweep_values(variant, lookup, metric):
        res = lookup(Run(variant, 0, value).id)
        if res is None:
            return None
        score = res['metrics']['val'][metric]
        if best is None or score > best[0]:
            best = (score, value)
    return best[1]


def check_sweep(task: Task, variants: Sequence[Variant],
                results: str) -> List[str]:
    """Where a config's weight is not the one its sweep chose on val.

    Returns:
        list[str]: One line per disagreement or unfinished sweep.
    """
    problems = []
    for variant in variants:
        for name in ((variant.name, ) if variant.knob else variant.uses):
            swept = task.variants[name]
            chosen = sweep_choice(swept, lambda i: read_result(results, i),
                                  task.metric)
            if chosen is None:
                problems.append(f'{name}: its sweep has not finished '
                                f'(run --stage sweep)')
                continue
            have = config_value(variant.config, swept.knob)
            if abs(have - chosen) > 1e-12 * max(1.0, abs(chosen)):
                problems.append(
                    f'{variant.config}: {swept.knob}={have:g}, but the '
                    f'sweep chose {chosen:g} on val; put {chosen:g} in the '
                    f'config')
    return problems


def sweep_runs(variants: Sequence[Variant], task: Task,
               results: str) -> List[Run]:
    """Seed-0 runs of every value the sweeps need now (grids and their
    extensions so far)."""
    def lookup(run_id: str) -> Optional[dict]:
        return read_result(results, run_id)

    return [
        Run(v, 0, value) for v in variants if v.knob
        for value in sweep_values(v, lookup, task.metric)
    ]


def seed_runs(variants: Sequence[Variant],
              seeds: Sequence[int] = SEEDS) -> List[Run]:
    """The study runs; a knob's value is read from the config."""
    runs = []
    for seed in seeds:
        for v in variants:
            value = config_value(v.config, v.knob) if v.knob else None
            runs.append(Run(v, seed, value))
    return runs


# ---------------------------------------------------------------- commands
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

    Returns:
        tuple[str, float]: The final checkpoint and the training seconds.
    """
    done = osp.join(work_dir, 'train_done.json')
    if osp.exists(done):
        with open(done) as f:
            info = json.load(f)
        if osp.exists(info['checkpoint']):
            return info['checkpoint'], info['train_seconds']
    options = list(options) + [
        'val_dataloader=None', 'val_cfg=None', 'val_evaluator=None'
    ]
    seconds = run_cmd([
        sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
        '--cfg-options', *options
    ], osp.join(work_dir, 'train_stdout.log'), threads)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    write_json(done, dict(checkpoint=ckpt, train_seconds=seconds))
    return ckpt, seconds


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
    ``distill_weight_scale``, rounded to 5 significant digits.
    """
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isdir(osp.join(work_dir, d)) and d[:1].isdigit())
    path = osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')
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


# ----------------------------------------------------------------- teacher
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
            '--num-per-class', '100'
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
    from mmkd.apis.cost_matrix import load_cost_matrix_and_record
    matrix, record = load_cost_matrix_and_record(cost_file)
    write_json(out, dict(
        id='teacher', config=config, metrics=metrics,
        val_curve=val_curve, curve=training_curve(work_dir),
        train_seconds=round(seconds), threads=threads,
        cost_matrix=torch.as_tensor(matrix).double().tolist(),
        cost_matrix_classes=list((record or {}).get('class_names') or []),
        commit=git_commit(), finished=time.strftime('%Y-%m-%d %H:%M')))
    return ckpt, cost_file


# ----------------------------------------------------------------- example
def roi_example(args: argparse.Namespace, teacher_ckpt: str,
                cost_file: str) -> Optional[str]:
    """For one val RoI, the distributions WKD-L compares and their plan.

    Takes the WKD-L student of seed 0 and the teacher, scores the ground
    truth boxes of the first val images with both RoI heads, and keeps the
    RoI the teacher classifies right whose non-target distribution is the
    most concentrated (the teacher's "looks like" knowledge). Writes
    ``roi_example.json`` (probabilities over the non-target classes at the
    loss's temperature, the Sinkhorn plan between them, the cost) for
    ``study_report.py``; nothing if that run has not finished.
    """
    out = osp.join(args.results, 'roi_example.json')
    task = TASKS['det']
    variant = task.variants['wkd-l']
    run = Run(variant, 0, config_value(variant.config, variant.knob))
    student_ckpt = osp.join(args.work_dir, run.id, 'student_final.pth')
    if osp.exists(out) or not osp.exists(student_ckpt):
        return None
    import torch
    import torch.nn.functional as F
    from mmdet.structures.bbox import bbox2roi
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner, load_checkpoint

    from mmkd.apis.cost_matrix import load_cost_matrix_and_record
    from mmkd.losses.sinkhorn import sinkhorn
    from mmkd.registry import MODELS

    init_default_scope('mmdet')
    loss_cfg = load_config(variant.config).model.distill_losses.loss_wkd_l
    tau = float(loss_cfg.temperature)
    cost, record = load_cost_matrix_and_record(cost_file)
    models = {}
    for role, config, ckpt in (('student', task.student_config,
                                student_ckpt),
                               ('teacher', task.teacher_config,
                                teacher_ckpt)):
        model = MODELS.build(load_config(config).model)
        load_checkpoint(model, ckpt, map_location='cpu', logger='silent')
        models[role] = model.eval()
    cfg = load_config(task.student_config)
    loader_cfg = cfg.test_dataloader
    loader_cfg.dataset.ann_file = 'annotations/instances_val.json'
    loader_cfg.dataset.data_prefix = dict(img='images/val/')
    loader_cfg.update(num_workers=0, persistent_workers=False)
    best = None
    with torch.no_grad():
        for b, batch in enumerate(Runner.build_dataloader(loader_cfg)):
            if b == 8:
                break
            logits = {}
            for role, model in models.items():
                data = model.data_preprocessor(batch, False)
                feats = model.extract_feat(data['inputs'])
                boxes = [d.gt_instances.bboxes for d in data['data_samples']]
                logits[role] = model.roi_head._bbox_forward(
                    feats, bbox2roi(boxes))['cls_score'].float()
            labels = torch.cat([
                d.gt_instances.labels for d in data['data_samples']])
            for i, label in enumerate(labels.tolist()):
                t = logits['teacher'][i]
                if int(t.argmax()) != label:
                    continue
                keep = torch.ones_like(t, dtype=torch.bool)
                keep[label] = False
                pt = F.softmax((t / tau).masked_fill(~keep, float('-inf')), 0)
                score = float(pt.max())
                if best is None or score > best[0]:
                    ps = F.softmax((logits['student'][i] / tau).masked_fill(
                        ~keep, float('-inf')), 0)
                    best = (score, label, ps, pt, keep)
    if best is None:
        print('[example] the teacher classified no val RoI right; skipped')
        return None
    _, label, ps, pt, keep = best
    plan = sinkhorn(ps, pt, cost, reg=float(loss_cfg.sinkhorn_reg),
                    iters=int(loss_cfg.sinkhorn_iters), support=keep)
    names = list((record or {}).get('class_names') or
                 [str(i) for i in range(cost.shape[0])])
    write_json(out, dict(
        id='roi_example', run=run.id, classes=names, gt_class=names[label],
        temperature=tau,
        student_probs=[round(float(v), 5) for v in ps],
        teacher_probs=[round(float(v), 5) for v in pt],
        plan=[[round(float(v), 6) for v in row] for row in plan],
        wd=float((plan * cost).sum()), commit=git_commit()))
    print(f'[example] wrote {out}', flush=True)
    return out


# ------------------------------------------------------------------- main
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
