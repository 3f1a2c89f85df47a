# Copyright (c) OpenMMLab. All rights reserved.
"""Tables and figures of the toy distillation studies, from their results.

    python tools/benchmarks/study_report.py               # both tasks
    python tools/benchmarks/study_report.py --task det

reads ``tools/benchmarks/results/toy_<task>_study/*.json`` (written and
committed by ``tools/benchmarks/distill_study.py``; nothing is retrained),
rewrites the part of the task's README (``configs/toy_digits/README.md``,
``configs/toy_digits_cls/README.md``) between ``<!-- study:begin -->`` and
``<!-- study:end -->`` and the PNGs in its ``figures/`` folder. Missing runs
leave gaps ("-") and are counted, so the report can be made while the study
is under way.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from distill_study import (ROOT, SEEDS, TASKS, Run, Task,  # noqa: E402
                           config_value, sweep_choice, sweep_values)

BEGIN, END = '<!-- study:begin -->', '<!-- study:end -->'


class Spec:
    """How a task's results are shown.

    Args:
        columns (Sequence[tuple]): ``(metric key, header, scale)``; the first
            is the headline metric (higher is better).
        published (dict): Variant -> the paper's numbers for the same
            columns (None where the paper has none), from ``docs/methods.md``.
        published_what (str): Whose numbers on which setting those are
            (empty where none is published).
        comparisons (Sequence[tuple]): ``(a, b)``: is ``a`` above ``b``?
        readme (str): The README with the study section.
    """

    def __init__(self, columns, published, published_what, comparisons,
                 readme):
        self.columns = columns
        self.published = published
        self.published_what = published_what
        self.comparisons = comparisons
        self.readme = readme

    @property
    def metric(self) -> str:
        return self.columns[0][0]


SPECS = {
    # The paper's COCO val2017 rows, R101 -> R18 (mAP, AP50, AP75).
    'det': Spec(
        (('coco/bbox_mAP', 'mAP', 100), ('coco/bbox_mAP_50', 'AP50', 100),
         ('coco/bbox_mAP_75', 'AP75', 100)),
        {
            'teacher': (42.04, 62.48, 45.88),
            'student': (33.26, 53.61, 35.26),
            'kd': (33.97, 54.66, 36.62),
            'dkd': (35.05, 56.60, 37.54),
            'wkd-l': (35.24, 56.73, 37.91),
            'fitnet': (34.13, 54.16, 36.71),
            'wkd-f-roi': (37.21, 57.32, 40.15),
            'wkd-lf': (37.49, 57.76, 40.39),
            'wkd-lf-bbox': (37.79, 57.95, 41.08),
        }, "the paper's COCO val2017 R101 -> R18 numbers",
        (('wkd-lf', 'kd'), ('wkd-lf', 'dkd'), ('wkd-l', 'kd'),
         ('wkd-l', 'dkd'), ('wkd-f-roi', 'fitnet'), ('wkd-f-fpn', 'fitnet')),
        osp.join('configs', 'toy_digits', 'README.md')),
    # The paper's ImageNet top-1, R34 -> R18 (no ECE published).
    'cls': Spec(
        (('accuracy/top1', 'top-1 %', 1), ('calibration/ece', 'ECE %', 1)),
        {
            'teacher': (73.31, None),
            'student': (69.75, None),
            'kd': (71.03, None),
            'wkd-l': (72.49, None),
            'wkd-f': (72.50, None),
            'wkd-lf': (72.76, None),
        }, "the paper's ImageNet R34 -> R18 numbers",
        (('wkd-lf', 'kd'), ('wkd-lf', 'dkd'), ('wkd-l', 'kd'),
         ('wkd-l', 'dkd')),
        osp.join('configs', 'toy_digits_cls', 'README.md')),
    # CIFAR-100 resnet32x4 -> resnet8x4, the pair the toy CRD task scales
    # down: teacher and student from CRD's README, KD and DKD from DKD's,
    # WKD from the official WKD README (no ECE published).
    'crd': Spec(
        (('accuracy/top1', 'top-1 %', 1), ('calibration/ece', 'ECE %', 1)),
        {
            'teacher': (79.42, None),
            'student': (72.50, None),
            'kd': (73.33, None),
            'dkd': (76.32, None),
            'wkd-l': (76.53, None),
            'wkd-f': (76.77, None),
            'wkd-lf': (77.28, None),
        }, ('the CIFAR-100 resnet32x4 -> resnet8x4 numbers (CRD, DKD and '
            'official WKD READMEs)'),
        (('wkd-lf', 'kd'), ('wkd-lf', 'dkd'), ('wkd-l', 'kd'),
         ('wkd-l', 'dkd'), ('wkd-f', 'kd')),
        osp.join('configs', 'toy_digits_crd', 'README.md')),
    # mmdet's model zoo (metafiles): GFL R101 ms-2x 44.7, LD R18 36.5; the
    # GFL R18 student's 35.8 is from mmdet's LD README (no other method).
    'gfl': Spec(
        (('coco/bbox_mAP', 'mAP', 100), ('coco/bbox_mAP_50', 'AP50', 100),
         ('coco/bbox_mAP_75', 'AP75', 100)),
        {
            'teacher': (44.7, None, None),
            'student': (35.8, None, None),
            'ld': (36.5, None, None),
        }, ("mmdet's COCO numbers for GFL R101 -> R18 (model zoo "
            'and its LD README)'),
        (('wkd-lf-box', 'ld'), ('wkd-lf-box', 'fitnet'),
         ('wkd-box', 'kl-box'), ('wkd-l', 'kd'),
         ('wkd-l', 'wkd-l-normalized'), ('wkd-f-fpn', 'fitnet'),
         ('wkd-f-fpn-gt', 'wkd-f-fpn')),
        osp.join('configs', 'toy_digits', 'README.md')),
    # The toy across-architecture pairs: no published number to set beside
    # them (the paper's Table 6 WKD values are in an image; its baselines
    # come from OFA), so the comparisons carry the paper's claims instead:
    # WKD-F above the best feature baseline (FitNet here), WKD-L above KD
    # and DKD, WKD-L+F above WKD-F and KD.
    'hetero_vit': Spec(
        (('accuracy/top1', 'top-1 %', 1), ('calibration/ece', 'ECE %', 1)),
        {}, '',
        (('wkd-f', 'fitnet'), ('wkd-l', 'kd'), ('wkd-l', 'dkd'),
         ('wkd-lf', 'wkd-f'), ('wkd-lf', 'kd')),
        osp.join('configs', 'toy_digits_hetero', 'README.md')),
    'hetero_cnn': Spec(
        (('accuracy/top1', 'top-1 %', 1), ('calibration/ece', 'ECE %', 1)),
        {}, '',
        (('wkd-f', 'fitnet'), ('wkd-l', 'kd'), ('wkd-l', 'dkd'),
         ('wkd-lf', 'wkd-f'), ('wkd-lf', 'kd')),
        osp.join('configs', 'toy_digits_hetero', 'README.md')),
    # The FPN issue's screen: nothing published for these terms on FPN maps;
    # each candidate is compared with FitNet (MSE) on the same maps, the goal
    # of the issue (at or above it), and with the committed 2 x 2 grid.
    'det_fpn': Spec(
        (('coco/bbox_mAP', 'mAP', 100), ('coco/bbox_mAP_50', 'AP50', 100),
         ('coco/bbox_mAP_75', 'AP75', 100)), {}, '',
        tuple((name, 'fitnet') for name in (
            'wkd-f-fpn', 'wkd-f-fpn-const', 'wkd-f-fpn-cell2',
            'wkd-f-fpn-cell4', 'wkd-f-fpn-cell2-norm', 'wkd-f-fpn-full',
            'swd-fpn', 'cwd-fpn')) + (('swd-fpn', 'cwd-fpn'),
                                      ('wkd-f-fpn-cell2', 'wkd-f-fpn')),
        osp.join('configs', 'toy_digits', 'README.md')),
    'gfl_fpn': Spec(
        (('coco/bbox_mAP', 'mAP', 100), ('coco/bbox_mAP_50', 'AP50', 100),
         ('coco/bbox_mAP_75', 'AP75', 100)), {}, '',
        tuple((name, 'fitnet') for name in (
            'wkd-f-fpn', 'wkd-f-fpn-cell2', 'wkd-f-fpn-cell2-norm', 'swd-fpn',
            'cwd-fpn')) + (('swd-fpn', 'cwd-fpn'),
                           ('wkd-f-fpn-cell2', 'wkd-f-fpn')),
        osp.join('configs', 'toy_digits', 'README.md')),
    'retinanet': Spec(
        (('coco/bbox_mAP', 'mAP', 100), ('coco/bbox_mAP_50', 'AP50', 100),
         ('coco/bbox_mAP_75', 'AP75', 100)), {}, '',
        (('wkd-l', 'kd'), ('wkd-f-fpn', 'fitnet'),
         ('wkd-f-fpn-gt', 'wkd-f-fpn'), ('wkd-lf', 'kd'),
         ('wkd-lf', 'fitnet')),
        osp.join('configs', 'toy_digits', 'README.md')),
}


def markers(task: Task) -> Tuple[str, str]:
    """The README markers of a task's section (several share a README)."""
    if task.name in ('det', 'cls'):
        return BEGIN, END
    return (f'<!-- study-{task.name}:begin -->',
            f'<!-- study-{task.name}:end -->')


def load_results(results: str) -> Dict[str, dict]:
    """The run result files of a study folder, by run id.

    A JSON file without an ``id`` (a study's probe record, such as
    ``recipe_probes.json``) is not a run and is left out.
    """
    out = {}
    for path in sorted(glob.glob(osp.join(results, '*.json'))):
        with open(path) as f:
            data = json.load(f)
        if isinstance(data, dict) and 'id' in data:
            out[data['id']] = data
    return out


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean)**2 for v in values) / (n - 1))


def study_runs(task: Task, results: Dict[str, dict]) -> Dict[str, List[dict]]:
    """Per variant, its finished study runs (the config's weight), by seed."""
    table = {}
    for name, variant in task.variants.items():
        value = (config_value(variant.config, variant.knob)
                 if variant.knob else None)
        table[name] = [
            results[Run(variant, s, value).id] for s in SEEDS
            if Run(variant, s, value).id in results
        ]
    return table


def _cell(values: Sequence[float], scale: float) -> str:
    if not values:
        return '-'
    mean, std = mean_std([v * scale for v in values])
    return f'{mean:.1f} ± {std:.1f}' if len(values) > 1 else f'{mean:.1f}'


def _published(numbers: Optional[Sequence[Optional[float]]]) -> str:
    if not numbers:
        return '-'
    return ' / '.join('-' if v is None else f'{v:.2f}' for v in numbers)


def main_table(task: Task, results: Dict[str, dict]) -> Tuple[str, dict]:
    """Mean ± std over seeds on test, gap closed, and published rows.

    Returns:
        tuple[str, dict]: The markdown table, and per variant the headline
        metric of each finished seed (``'teacher'``: the teacher's).
    """
    spec = SPECS[task.name]
    key = spec.metric
    teacher = results.get('teacher')
    runs = study_runs(task, results)
    t_val = teacher['metrics']['test'][key] if teacher else None
    s_runs = runs['student']
    s_val = (mean_std([r['metrics']['test'][key] for r in s_runs])[0]
             if s_runs else None)
    pub = spec.published
    pub_gap = (pub['teacher'][0] - pub['student'][0]
               if 'teacher' in pub and 'student' in pub else None)
    heads = ' | '.join(h for _, h, _ in spec.columns)
    # No published columns where nothing is published (RetinaNet).
    pub_heads = (f' published {" / ".join(h for _, h, _ in spec.columns)} |'
                 f' published gap closed |' if pub else '')
    lines = [
        f'| method | seeds | {heads} | gap closed |{pub_heads}',
        '|---|---|' + '---|' * len(spec.columns) + '---|' +
        ('---|---|' if pub else '')
    ]
    if teacher:
        m = teacher['metrics']['test']
        cells = ' | '.join(f'{scale * m[k]:.1f}' for k, _, scale in
                           spec.columns)
        lines.append(f'| teacher | 1 | {cells} | - |' + (
            f' {_published(pub.get("teacher"))} | - |' if pub else ''))
    summary = {}
    for name, variant in task.variants.items():
        rs = runs[name]
        cells = [_cell([r['metrics']['test'][k] for r in rs], scale)
                 for k, _, scale in spec.columns]
        gap = '-'
        if rs and t_val is not None and s_val is not None and \
                variant.distills:
            closed = [(r['metrics']['test'][key] - s_val) / (t_val - s_val)
                      for r in rs]
            mean, std = mean_std([100 * c for c in closed])
            gap = f'{mean:.0f} % ± {std:.0f}'
        mine = pub.get(name)
        pub_closed = '-'
        if mine and variant.distills and pub_gap:
            pub_closed = f'{100 * (mine[0] - pub["student"][0]) / pub_gap:.0f} %'  # noqa: E501
        lines.append(f'| {variant.label} | {len(rs)} | ' + ' | '.join(cells) +
                     f' | {gap} |' +
                     (f' {_published(mine)} | {pub_closed} |' if pub else ''))
        summary[name] = [r['metrics']['test'][key] for r in rs]
    return '\n'.join(lines), dict(summary, teacher=t_val)


def sweep_table(task: Task, results: Dict[str, dict]) -> str:
    """The headline metric on val (seed 0) at each swept weight."""
    spec = SPECS[task.name]
    key, head, scale = spec.columns[0]
    lines = [
        f'| method | weight | val {head} (seed 0) at each weight | chosen '
        f'(best on val) | in the config |', '|---|---|---|---|---|'
    ]
    for variant in task.variants.values():
        if not variant.knob:
            continue
        cells = []
        for value in sweep_values(variant, results.get, key):
            res = results.get(Run(variant, 0, value).id)
            score = (f'{scale * res["metrics"]["val"][key]:.1f}'
                     if res else '-')
            cells.append(f'{value:g}: {score}')
        chosen = sweep_choice(variant, results.get, key)
        have = config_value(variant.config, variant.knob)
        loss, arg = variant.knob.split('.')[-2:]
        lines.append(
            f'| {variant.label} | `{loss}.{arg}` | ' + ', '.join(cells) +
            f' | {"-" if chosen is None else f"{chosen:g}"} | {have:g} |')
    return '\n'.join(lines)


def _by_epoch(task: Task) -> bool:
    """Whether a task is a classification study (trained and checkpointed
    by epoch, top-1 and ECE in %), not a detection one."""
    return task.metric.startswith('accuracy/')


def teacher_table(task: Task, results: Dict[str, dict]) -> str:
    """The teacher's val metric at each of its regular checkpoints."""
    teacher = results.get('teacher')
    if not teacher:
        return '(the teacher has not been trained yet)'
    key, head, scale = SPECS[task.name].columns[0]
    curve = teacher['val_curve']
    unit = 'epoch' if _by_epoch(task) else 'iteration'
    steps = ' | '.join(str(p['step']) for p in curve)
    values = ' | '.join(f'{scale * p[key]:.1f}' for p in curve)
    return (f'| {unit} | {steps} |\n|---|' + '---|' * len(curve) +
            f'\n| val {head} | {values} |')


def targets(task: Task, summary: dict) -> List[str]:
    """The issue's targets, each read off the seeds."""
    spec = SPECS[task.name]
    _, head, scale = spec.columns[0]
    out = []
    t = summary.get('teacher')
    distilled = [v for k, vs in summary.items()
                 if k not in ('teacher', 'student') for v in vs]
    if t is not None and distilled:
        out.append(f'- Teacher above every distilled student on test: '
                   f'{"yes" if all(v < t for v in distilled) else "no"} '
                   f'(teacher {scale * t:.1f}, best student run '
                   f'{scale * max(distilled):.1f}).')

    def ms(name):
        vs = summary.get(name) or []
        return mean_std(vs) if len(vs) == len(SEEDS) else None

    s, lf = ms('student'), ms('wkd-lf')
    pub = spec.published
    if t is not None and s and lf:
        closed = (lf[0] - s[0]) / (t - s[0])
        line = (f'- WKD-L+F closes at least 50 % of the gap: '
                f'{"yes" if closed >= 0.5 else "no"} ({100 * closed:.0f} %')
        if all(k in pub for k in ('wkd-lf', 'student', 'teacher')):
            pub_closed = ((pub['wkd-lf'][0] - pub['student'][0]) /
                          (pub['teacher'][0] - pub['student'][0]))
            line += (f'; {100 * pub_closed:.0f} % in '
                     f'{spec.published_what}')
        out.append(line + ').')
    for a, b in spec.comparisons:
        x, y = ms(a), ms(b)
        if not (x and y):
            continue
        diff = x[0] - y[0]
        noise = max(x[1], y[1])
        verdict = ('yes, by more than the seed std' if diff > noise else
                   'higher, within the seed std' if diff > 0 else 'no')
        # A seed fixes the data order in every variant, and the student's
        # init among variants that build the same teacher and connectors
        # first (they draw from the same random stream): partly paired.
        paired = [scale * (p - q) for p, q in zip(summary[a], summary[b])]
        wins = sum(d > 0 for d in paired)
        out.append(f'- {task.variants[a].label} > {task.variants[b].label}:'
                   f' {verdict} ({scale * diff:+.1f} {head}, std '
                   f'{scale * noise:.1f}; per seed '
                   f'{" / ".join(f"{d:+.1f}" for d in paired)}, higher in '
                   f'{wins} of {len(paired)}).')
    return out


# ----------------------------------------------------------------- figures
def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def bar_chart(task: Task, summary: dict, out: str) -> Optional[str]:
    """The headline test metric per method, mean ± std over seeds."""
    _, head, scale = SPECS[task.name].columns[0]
    names = [n for n in task.variants if summary.get(n)]
    if not names:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    means = [scale * mean_std(summary[n])[0] for n in names]
    stds = [scale * mean_std(summary[n])[1] for n in names]
    ax.bar(range(len(names)), means, yerr=stds, capsize=3,
           color=['grey' if n == 'student' else
                  'tab:blue' if n.startswith('wkd') else 'tab:orange'
                  for n in names])
    if summary.get('teacher') is not None:
        ax.axhline(scale * summary['teacher'], color='black', ls='--',
                   label='teacher')
        ax.legend(loc='lower right')
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([task.variants[n].label for n in names],
                       rotation=30, ha='right', fontsize=8)
    ax.set_ylabel(f'test {head} (mean ± std over seeds)')
    low = min(m - s for m, s in zip(means, stds))
    ax.set_ylim(max(0.0, low - 3), None)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _student_loss(point: dict) -> float:
    """The student's own losses of one logged step (not the total)."""
    return sum(v for k, v in point.items()
               if k != 'loss' and not k.startswith('distill.') and
               k.split('.', 1)[-1].startswith('loss'))


def curves(task: Task, results: Dict[str, dict],
           out: str) -> Optional[str]:
    """Student loss and each distillation term over training, seed 0."""
    runs = study_runs(task, results)
    chosen = {n: rs[0] for n, rs in runs.items() if rs and rs[0]['seed'] == 0}
    if not chosen:
        return None
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, res in chosen.items():
        its = [p.get('step', p['iter']) for p in res['curve']]
        student = [_student_loss(p) for p in res['curve']]
        left.plot(its, student, label=task.variants[name].label)
        keys = sorted({k for p in res['curve'] for k in p
                       if k.startswith('distill.loss')})
        for key in keys:
            right.plot(its, [p.get(key, float('nan')) for p in res['curve']],
                       label=f'{name}: {key[len("distill."):]}')
    left.set_title('student losses (sum), seed 0')
    right.set_title('distillation terms (weighted), seed 0')
    right.set_yscale('log')
    for ax in (left, right):
        ax.set_xlabel('iteration')
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def cost_heatmap(results: Dict[str, dict], out: str) -> Optional[str]:
    """The teacher's WKD-L cost matrix, scaled to its off-diagonal range."""
    teacher = results.get('teacher')
    if not teacher:
        return None
    import torch
    from mmkd.apis.cost_io import plot_cost_matrix
    plot_cost_matrix(
        torch.tensor(teacher['cost_matrix']), out,
        teacher['cost_matrix_classes'] or None,
        title='toy teacher: WKD-L cost matrix (CKA, kappa 1)')
    return out


def roi_figure(results: Dict[str, dict], out: str) -> Optional[str]:
    """One RoI: student and teacher distributions and the transport plan."""
    ex = results.get('roi_example')
    if not ex:
        return None
    plt = _plt()
    import numpy as np
    names = ex['classes']
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = np.arange(len(names))
    left.bar(x - 0.2, ex['teacher_probs'], 0.4, label='teacher')
    left.bar(x + 0.2, ex['student_probs'], 0.4, label='student')
    left.set_xticks(x)
    left.set_xticklabels(names, rotation=90, fontsize=7)
    left.set_yscale('log')
    left.set_title(f'one RoI (ground truth "{ex["gt_class"]}"), '
                   f'softmax at tau {ex["temperature"]:g}')
    left.legend()
    image = right.imshow(np.array(ex['plan']), cmap='magma')
    fig.colorbar(image, ax=right, fraction=0.046, pad=0.04)
    right.set_xticks(x)
    right.set_yticks(x)
    right.set_xticklabels(names, rotation=90, fontsize=7)
    right.set_yticklabels(names, fontsize=7)
    right.set_xlabel('teacher class')
    right.set_ylabel('student class')
    right.set_title(f'Sinkhorn transport plan (WD {ex["wd"]:.3f})')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


# -------------------------------------------------------------------- main
def render(task: Task, results: Dict[str, dict], fig_dir: str,
           readme_dir: str) -> str:
    """The README section of one task (and its PNGs in ``fig_dir``)."""
    spec = SPECS[task.name]
    os.makedirs(fig_dir, exist_ok=True)
    table, summary = main_table(task, results)
    begin, end = markers(task)
    prefix = '' if task.name in ('det', 'cls') else f'{task.name}_'

    def fig(name: str) -> str:
        return osp.join(fig_dir, prefix + name)

    figs = [
        ('test metric per method', bar_chart(task, summary,
                                             fig('study_bars.png'))),
        ('training curves', curves(task, results, fig('study_curves.png'))),
        ('cost matrix', cost_heatmap(results, fig('cost_matrix.png'))),
        ('one RoI', roi_figure(results, fig('roi_plan.png'))),
    ]
    expected = len(SEEDS) * len(task.variants) + sum(
        len(sweep_values(v, results.get, spec.metric)) - 1
        for v in task.variants.values() if v.knob)
    done = sum(1 for k in results if k not in ('teacher', 'roi_example'))
    scale = ('top-1 and ECE in %' if _by_epoch(task) else
             'COCO metrics x 100')
    published = (f' The published columns are {spec.published_what}, for '
                 f'orientation only (another task and scale).'
                 if spec.published else '')
    parts = [
        begin,
        '<!-- written by tools/benchmarks/study_report.py; do not edit -->',
        f'Result files: {done} of {expected} runs finished.', '',
        '**Teacher**, val metric at each regular checkpoint:', '',
        teacher_table(task, results), '', '**Loss weights** chosen on val '
        '(seed 0; 4x apart around the earlier value, extended while the '
        'best is at an end):', '',
        sweep_table(task, results), '',
        f'**Test split**, mean ± std over the seeds ({scale}); gap closed = '
        f'(method - student) / (teacher - student) on the first metric.'
        f'{published}', '', table, '',
        '**Targets**:', ''
    ] + (targets(task, summary) or ['- (not enough finished runs yet)'])
    parts.append('')
    for title, path in figs:
        if path:
            parts.append(f'![{title}]({osp.relpath(path, readme_dir)})')
    parts.append(end)
    return '\n'.join(parts)


def write_section(readme: str, section: str,
                  marks: Tuple[str, str] = (BEGIN, END)) -> None:
    """Replace the marked section of ``readme`` (or append it)."""
    begin, end = marks
    text = open(readme).read() if osp.exists(readme) else ''
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip('\n') + ('\n\n' if text else '') + section + '\n'
    with open(readme, 'w') as f:
        f.write(text)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', choices=list(TASKS),
                        help='one task (default: both)')
    parser.add_argument('--results', help='default: the task\'s folder')
    parser.add_argument('--readme', help='default: the task\'s README')
    parser.add_argument('--fig-dir',
                        help='default: figures/ beside the README')
    args = parser.parse_args(argv)
    if not args.task and (args.results or args.readme or args.fig_dir):
        parser.error('--results, --readme and --fig-dir need --task')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    for name in ([args.task] if args.task else list(TASKS)):
        task = TASKS[name]
        results = load_results(osp.join(ROOT, args.results or task.results))
        readme = osp.join(ROOT, args.readme or SPECS[name].readme)
        fig_dir = osp.join(
            ROOT, args.fig_dir or osp.join(osp.dirname(readme), 'figures'))
        section = render(task, results, fig_dir, osp.dirname(readme))
        write_section(readme, section, markers(task))
        print(section)
    return 0


if __name__ == '__main__':
    sys.exit(main())
