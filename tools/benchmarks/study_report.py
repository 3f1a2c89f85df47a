# Copyright (c) OpenMMLab. All rights reserved.
"""Tables and figures of the toy detection study, from its result files.

    python tools/benchmarks/study_report.py

reads ``tools/benchmarks/results/toy_det_study/*.json`` (written and
committed by ``tools/benchmarks/distill_study.py``; nothing is retrained),
rewrites the part of ``configs/toy_digits/README.md`` between
``<!-- study:begin -->`` and ``<!-- study:end -->`` and the PNGs in
``configs/toy_digits/figures/``. Missing runs leave gaps ("-") and are
counted, so the report can be made while the study is under way.
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
from distill_study import (ROOT, SEEDS, VARIANTS, Run,  # noqa: E402
                           config_value, sweep_choice)

BEGIN, END = '<!-- study:begin -->', '<!-- study:end -->'
METRICS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75')
#: The paper's COCO val2017 rows, R101 -> R18 (mAP, AP50, AP75), from
#: ``methods.md`` (the slides); labelled as published in the table.
PUBLISHED = {
    'teacher': (42.04, 62.48, 45.88),
    'student': (33.26, 53.61, 35.26),
    'kd': (33.97, 54.66, 36.62),
    'dkd': (35.05, 56.60, 37.54),
    'wkd-l': (35.24, 56.73, 37.91),
    'fitnet': (34.13, 54.16, 36.71),
    'wkd-f-roi': (37.21, 57.32, 40.15),
    'wkd-lf': (37.49, 57.76, 40.39),
    'wkd-lf-bbox': (37.79, 57.95, 41.08),
}


def load_results(results: str) -> Dict[str, dict]:
    out = {}
    for path in sorted(glob.glob(osp.join(results, '*.json'))):
        with open(path) as f:
            data = json.load(f)
        out[data['id']] = data
    return out


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean)**2 for v in values) / (n - 1))


def study_runs(results: Dict[str, dict]) -> Dict[str, List[dict]]:
    """Per variant, its finished study runs (the config's weight), by seed."""
    table = {}
    for name, variant in VARIANTS.items():
        value = (config_value(variant.config, variant.knob)
                 if variant.knob else None)
        table[name] = [
            results[Run(variant, s, value).id] for s in SEEDS
            if Run(variant, s, value).id in results
        ]
    return table


def _cell(values: Sequence[float], scale: float = 100) -> str:
    if not values:
        return '-'
    mean, std = mean_std([v * scale for v in values])
    return f'{mean:.1f} ± {std:.1f}' if len(values) > 1 else f'{mean:.1f}'


def main_table(results: Dict[str, dict]) -> Tuple[str, dict]:
    """Mean ± std over seeds on test, gap closed, and published rows."""
    teacher = results.get('teacher')
    runs = study_runs(results)
    t_map = teacher['metrics']['test'][METRICS[0]] if teacher else None
    s_runs = runs['student']
    s_map = (mean_std([r['metrics']['test'][METRICS[0]]
                       for r in s_runs])[0] if s_runs else None)
    pub_gap = PUBLISHED['teacher'][0] - PUBLISHED['student'][0]
    lines = [
        '| method | seeds | mAP | AP50 | AP75 | gap closed | '
        'published mAP / AP50 / AP75 | published gap closed |',
        '|---|---|---|---|---|---|---|---|'
    ]
    if teacher:
        m = teacher['metrics']['test']
        pub = PUBLISHED['teacher']
        lines.append(
            f'| teacher (3x) | 1 | {100 * m[METRICS[0]]:.1f} | '
            f'{100 * m[METRICS[1]]:.1f} | {100 * m[METRICS[2]]:.1f} | - | '
            f'{pub[0]:.2f} / {pub[1]:.2f} / {pub[2]:.2f} | - |')
    summary = {}
    for name, variant in VARIANTS.items():
        rs = runs[name]
        cells = [_cell([r['metrics']['test'][k] for r in rs])
                 for k in METRICS]
        gap = '-'
        if rs and t_map is not None and s_map is not None and \
                name != 'student':
            closed = [(r['metrics']['test'][METRICS[0]] - s_map) /
                      (t_map - s_map) for r in rs]
            mean, std = mean_std([100 * c for c in closed])
            gap = f'{mean:.0f} % ± {std:.0f}'
        pub = PUBLISHED.get(name)
        pub_cells = (f'{pub[0]:.2f} / {pub[1]:.2f} / {pub[2]:.2f}'
                     if pub else '-')
        pub_gap_cell = (f'{100 * (pub[0] - PUBLISHED["student"][0]) / pub_gap:.0f} %'  # noqa: E501
                        if pub and name != 'student' else '-')
        lines.append(f'| {variant.label} | {len(rs)} | ' + ' | '.join(cells) +
                     f' | {gap} | {pub_cells} | {pub_gap_cell} |')
        summary[name] = [r['metrics']['test'][METRICS[0]] for r in rs]
    return '\n'.join(lines), dict(summary, teacher=t_map)


def sweep_table(results: Dict[str, dict]) -> str:
    """Val mAP (seed 0) per swept weight; bold: the config's value."""
    lines = ['| method | weight | val mAP (seed 0) at each weight | chosen '
             '(best on val) | in the config |', '|---|---|---|---|---|']
    for name, variant in VARIANTS.items():
        if not variant.knob:
            continue
        cells = []
        for value in variant.sweep:
            res = results.get(Run(variant, 0, value).id)
            score = (f'{100 * res["metrics"]["val"][METRICS[0]]:.1f}'
                     if res else '-')
            cells.append(f'{value:g}: {score}')
        chosen = sweep_choice(variant, results.get)
        have = config_value(variant.config, variant.knob)
        lines.append(
            f'| {variant.label} | `{variant.knob.rsplit(".", 2)[-2]}.'
            f'{variant.knob.rsplit(".", 1)[-1]}` | ' + ', '.join(cells) +
            f' | {"-" if chosen is None else f"{chosen:g}"} | {have:g} |')
    return '\n'.join(lines)


def teacher_table(results: Dict[str, dict]) -> str:
    teacher = results.get('teacher')
    if not teacher:
        return '(the teacher has not been trained yet)'
    iters = ' | '.join(str(p['iter']) for p in teacher['val_curve'])
    maps = ' | '.join(f'{100 * p[METRICS[0]]:.1f}'
                      for p in teacher['val_curve'])
    n = len(teacher['val_curve'])
    return (f'| iteration | {iters} |\n|---|' + '---|' * n +
            f'\n| val mAP | {maps} |')


def targets(summary: dict) -> List[str]:
    """The issue's targets, each read off the seeds (yes / no / open)."""
    out = []
    t = summary.get('teacher')
    distilled = [v for k, vs in summary.items()
                 if k not in ('teacher', 'student') for v in vs]
    if t is not None and distilled:
        out.append(f'- Teacher above every distilled student on test: '
                   f'{"yes" if all(v < t for v in distilled) else "no"} '
                   f'(teacher {100 * t:.1f}, best student run '
                   f'{100 * max(distilled):.1f}).')

    def ms(name):
        vs = summary.get(name) or []
        return mean_std(vs) if len(vs) == len(SEEDS) else None

    s, lf = ms('student'), ms('wkd-lf')
    if t is not None and s and lf:
        closed = (lf[0] - s[0]) / (t - s[0])
        out.append(f'- WKD-L+F closes at least 50 % of the gap: '
                   f'{"yes" if closed >= 0.5 else "no"} ({100 * closed:.0f}'
                   f' %; the paper closes 48 % on COCO R101->R18).')
    for a, b in (('wkd-lf', 'kd'), ('wkd-lf', 'dkd'), ('wkd-l', 'kd'),
                 ('wkd-l', 'dkd'), ('wkd-f-roi', 'fitnet'),
                 ('wkd-f-fpn', 'fitnet')):
        x, y = ms(a), ms(b)
        if not (x and y):
            continue
        diff = x[0] - y[0]
        noise = max(x[1], y[1])
        verdict = ('yes, by more than the seed std' if diff > noise else
                   'higher, within the seed std' if diff > 0 else 'no')
        out.append(f'- {VARIANTS[a].label} > {VARIANTS[b].label}: {verdict}'
                   f' ({100 * diff:+.1f} mAP, std {100 * noise:.1f}).')
    return out


# ----------------------------------------------------------------- figures
def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def bar_chart(summary: dict, out: str) -> Optional[str]:
    names = [n for n in VARIANTS if summary.get(n)]
    if not names:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    means = [100 * mean_std(summary[n])[0] for n in names]
    stds = [100 * mean_std(summary[n])[1] for n in names]
    ax.bar(range(len(names)), means, yerr=stds, capsize=3,
           color=['grey' if n == 'student' else
                  'tab:blue' if n.startswith('wkd') else 'tab:orange'
                  for n in names])
    if summary.get('teacher') is not None:
        ax.axhline(100 * summary['teacher'], color='black', ls='--',
                   label='teacher (3x)')
        ax.legend(loc='lower right')
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([VARIANTS[n].label for n in names], rotation=30,
                       ha='right', fontsize=8)
    ax.set_ylabel('test mAP (mean ± std over seeds)')
    low = min(m - s for m, s in zip(means, stds))
    ax.set_ylim(max(0.0, low - 3), None)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def curves(results: Dict[str, dict], out: str) -> Optional[str]:
    """Student loss and each distillation term over training, seed 0."""
    runs = study_runs(results)
    chosen = {n: rs[0] for n, rs in runs.items() if rs and rs[0]['seed'] == 0}
    if not chosen:
        return None
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, res in chosen.items():
        its = [p['iter'] for p in res['curve']]
        student = [
            sum(v for k, v in p.items()
                if k.split('.', 1)[-1].startswith('loss') and
                not k.startswith('distill.')) for p in res['curve']
        ]
        left.plot(its, student, label=VARIANTS[name].label)
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
    teacher = results.get('teacher')
    if not teacher:
        return None
    import torch
    from mmkd.apis.cost_matrix import plot_cost_matrix
    plot_cost_matrix(
        torch.tensor(teacher['cost_matrix']), out,
        teacher['cost_matrix_classes'] or None,
        title='toy teacher (3x): WKD-L cost matrix, CKA, kappa 1')
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
def render(results: Dict[str, dict], fig_dir: str, readme_dir: str) -> str:
    os.makedirs(fig_dir, exist_ok=True)
    table, summary = main_table(results)

    def fig(name: str) -> str:
        return osp.join(fig_dir, name)

    figs = [
        ('mAP per method', bar_chart(summary, fig('study_map.png'))),
        ('training curves', curves(results, fig('study_curves.png'))),
        ('cost matrix', cost_heatmap(results, fig('cost_matrix.png'))),
        ('one RoI', roi_figure(results, fig('roi_plan.png'))),
    ]
    expected = len(SEEDS) * len(VARIANTS) + sum(
        len(v.sweep) - 1 for v in VARIANTS.values() if v.knob)
    done = sum(1 for k in results if k not in ('teacher', 'roi_example'))
    parts = [
        BEGIN,
        '<!-- written by tools/benchmarks/study_report.py; do not edit -->',
        f'Result files: {done} of {expected} runs finished.', '',
        '**Teacher** (3x schedule), val mAP at each checkpoint:', '',
        teacher_table(results), '', '**Loss weights** chosen on val '
        '(seed 0; 4x apart around the earlier value):', '',
        sweep_table(results), '',
        '**Test split**, mean ± std over the seeds (COCO metrics x 100); '
        'gap closed = (method - student) / (teacher - student). The '
        'published columns are the paper\'s COCO val2017 R101 -> R18 rows, '
        'for orientation only (a different task and scale):', '', table, '',
        '**Targets**:', ''
    ] + (targets(summary) or ['- (not enough finished runs yet)']) + ['']
    for title, path in figs:
        if path:
            parts.append(f'![{title}]({osp.relpath(path, readme_dir)})')
    parts.append(END)
    return '\n'.join(parts)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--results',
        default=osp.join('tools', 'benchmarks', 'results', 'toy_det_study'))
    parser.add_argument(
        '--readme', default=osp.join('configs', 'toy_digits', 'README.md'))
    parser.add_argument(
        '--fig-dir', default=osp.join('configs', 'toy_digits', 'figures'))
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    results = load_results(osp.join(ROOT, args.results))
    readme = osp.join(ROOT, args.readme)
    section = render(results, osp.join(ROOT, args.fig_dir),
                     osp.dirname(readme))
    text = open(readme).read() if osp.exists(readme) else ''
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip('\n') + ('\n\n' if text else '') + section + '\n'
    with open(readme, 'w') as f:
        f.write(text)
    print(section)
    return 0


if __name__ == '__main__':
    sys.exit(main())
