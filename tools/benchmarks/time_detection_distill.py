# Copyright (c) OpenMMLab. All rights reserved.
"""Time one training iteration: student alone, teacher forward alone, and
the distillation step (student + teacher + distillation terms + backward),
and print the distillation step's ratio to the floor (student step +
teacher forward) and the peak memory of the student and distillation steps.

    python tools/benchmarks/time_detection_distill.py CONFIG \
        [--batch-size 8] [--size 128] [--iters 10] [--warmup 2]
    python tools/benchmarks/time_detection_distill.py --all-toy [...]

``--all-toy`` runs every toy digits distillation config, each in its own
process, and prints one table (the README's).

The teacher forward covers its backbone, neck and RoI head on the
student's sampled RoIs. CONFIG is a distillation config (e.g. the toy
WKD-L+F one). Batches are synthetic (mmdet's demo inputs, 1-4 boxes per
image) so no dataset is needed; the teacher is randomly initialised
(weights do not change the cost). Prints the mean and standard deviation
of each, in seconds.
"""
import argparse
import glob
import json
import os.path as osp
import statistics
import subprocess
import sys
import time

import torch
from memory import cpu_peak, reset_cpu_peak
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401  (registrations)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?')
    parser.add_argument(
        '--all-toy',
        action='store_true',
        help='every toy digits distillation config, one table')
    parser.add_argument(
        '--only',
        nargs='+',
        metavar='NAME',
        help="with --all-toy: only these configs, by the name the table "
        "shows (e.g. fitnet wkd-f-fpn-cell2-norm)")
    parser.add_argument(
        '--json', action='store_true', help='print one JSON line (for '
        '--all-toy)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--teacher-ckpt',
        help='load this teacher (default: random) - useful with --real-data '
        'to see the scale of each distillation term for a fresh student')
    parser.add_argument(
        '--cost-file', help='WKD-L cost matrix (default: a random one)')
    parser.add_argument(
        '--real-data',
        action='store_true',
        help="one batch of the config's training set instead of synthetic "
        'images')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def peak_memory(fn):
    """Peak resident bytes of one call above the memory before it."""
    base, mode = reset_cpu_peak()
    fn()
    return cpu_peak(mode) - base


def timed(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.mean(times), statistics.pstdev(times)


def main():
    args = parse_args()
    if args.all_toy:
        return all_toy(args, sys.argv[1:])
    if args.config is None:
        sys.exit('give a CONFIG or --all-toy')
    from mmdet.testing import demo_mm_inputs

    from mmkd.apis import load_cost_file
    from mmkd.models import DetectionDistiller
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model_cfg = cfg.model.copy()
    model_cfg.pop('type')
    model_cfg['teacher_ckpt'] = args.teacher_ckpt
    torch.manual_seed(0)
    model = DetectionDistiller(**model_cfg)
    n = model.num_classes + 1
    for name, loss in model.distill_losses.items():
        if hasattr(loss, 'set_cost_matrix') and getattr(
                loss, 'cost_matrix', None) is None:
            if args.cost_file:
                model.set_cost_matrix(
                    load_cost_file(args.cost_file), [name])
                continue
            cost = torch.rand(n, n)
            cost = (cost + cost.t()) / 2
            cost.fill_diagonal_(0)
            loss.set_cost_matrix(cost)
    model.train()
    if args.real_data:
        from mmengine.runner import Runner
        loader_cfg = cfg.train_dataloader.copy()
        loader_cfg.update(
            batch_size=args.batch_size, num_workers=0,
            persistent_workers=False)
        packed = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
    else:
        packed = demo_mm_inputs(
            batch_size=args.batch_size,
            image_shapes=[(3, args.size, args.size)] * args.batch_size,
            num_items=[1 + i % 4 for i in range(args.batch_size)],
            num_classes=model.num_classes)
    data = model.data_preprocessor(packed, True)
    inputs, samples = data['inputs'], data['data_samples']
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def student_step():
        losses = model.student.loss(inputs, samples)
        total, _ = model.parse_losses(losses)
        optim.zero_grad()
        total.backward()
        optim.step()

    # The student's sampled RoIs of this batch, for the teacher's RoI head.
    from mmdet.structures.bbox import bbox2roi
    with torch.no_grad():
        x_s = model.student.extract_feat(inputs)
        proposals = model._student_rpn(x_s, samples, {})
        rois = bbox2roi([
            r.priors for r in model.sample_rois(x_s, proposals, samples)
        ])

    def teacher_forward():
        with torch.no_grad():
            x_t = model.teacher.extract_feat(model.teacher_inputs(inputs))
            model.roi_forward(model.teacher.roi_head, x_t, rois)

    def distill_step():
        total, _ = model.parse_losses(model.loss(inputs, samples))
        optim.zero_grad()
        total.backward()
        optim.step()

    with torch.no_grad():
        first = model.loss(inputs, samples)
    if not args.json:
        print('loss terms at the first step (fresh student): ' + ', '.join(
            f'{k}={float(sum(v) if isinstance(v, list) else v):.4g}'
            for k, v in first.items()))
        print(f'config: {args.config}')
        print(f'batch {args.batch_size} x {args.size}px, {len(rois)} RoIs, '
              f'{args.iters} timed iterations after {args.warmup} warm-up, '
              f'{torch.get_num_threads()} threads')
    result = dict(config=osp.basename(args.config), rois=len(rois))
    for key, fn in (('student', student_step), ('teacher', teacher_forward),
                    ('distill', distill_step)):
        mean, std = timed(fn, args.iters, args.warmup)
        result[key] = mean
        result[key + '_std'] = std
    result['ratio'] = result['distill'] / (
        result['student'] + result['teacher'])
    result['student_peak'] = peak_memory(student_step)
    result['teacher_peak'] = peak_memory(teacher_forward)
    result['distill_peak'] = peak_memory(distill_step)
    if args.json:
        print(json.dumps(result))
        return
    for name, key in (('student alone (train step)', 'student'),
                      ('teacher forward alone (+RoI head)', 'teacher'),
                      ('distillation step', 'distill')):
        print(f'{name:40s} {result[key]:.3f} s +- {result[key + "_std"]:.3f}')
    print(f'{"ratio to the floor (student + teacher)":40s} '
          f'{result["ratio"]:.2f}')
    print(f'{"peak memory, student / teacher / distill":40s} '
          f'{result["student_peak"] / 2**20:.0f} / '
          f'{result["teacher_peak"] / 2**20:.0f} / '
          f'{result["distill_peak"] / 2**20:.0f} MiB')


def _table_name(config: str) -> str:
    """The method part of a toy config's name: ``...fpn_NAME_toy-...``."""
    return osp.basename(config).split('_fpn_')[1].split('_toy')[0]


def all_toy(args, argv):
    """Each toy distillation config in its own process; one table."""
    here = osp.dirname(osp.abspath(__file__))
    toy = osp.join(here, '..', '..', 'configs', 'toy_digits')
    # the Faster R-CNN ones: the timing reads RoI counts
    configs = sorted(
        glob.glob(osp.join(toy, 'faster-rcnn_*-to-*_toy-digits.py')))
    configs = [c for c in configs if '_distill_' not in c]
    if args.only:
        names = {_table_name(c): c for c in configs}
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            sys.exit(f'--only: no toy config named {unknown}; the names are '
                     f'{sorted(names)}')
        configs = [names[n] for n in args.only]
    # each config's process takes --only too and ignores it
    passthrough = [a for a in argv if a != '--all-toy']
    print(f'batch {args.batch_size} x {args.size}px, {args.iters} timed '
          f'iterations after {args.warmup} warm-up, each config in its own '
          'process')
    print('| config | RoIs | student step | teacher fwd | distill step | '
          'ratio to floor | peak MiB student / teacher / distill |')
    print('|---|---|---|---|---|---|---|')
    for config in configs:
        proc = subprocess.run(
            [sys.executable, __file__, config, '--json', *passthrough],
            capture_output=True, text=True)
        if proc.returncode:
            print(f'| {osp.basename(config)} | failed: '
                  f'{proc.stderr.strip().splitlines()[-1]} |')
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        name = _table_name(r['config'])
        print(f'| {name} | {r["rois"]} | {r["student"]:.3f} s | '
              f'{r["teacher"]:.3f} s | {r["distill"]:.3f} s | '
              f'{r["ratio"]:.2f} | {r["student_peak"] / 2**20:.0f} / '
              f'{r["teacher_peak"] / 2**20:.0f} / '
              f'{r["distill_peak"] / 2**20:.0f} |')


if __name__ == '__main__':
    main()
