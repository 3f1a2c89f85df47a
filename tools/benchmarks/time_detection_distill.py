# Copyright (c) OpenMMLab. All rights reserved.
"""Time one training iteration: student alone, teacher forward alone, and
the distillation step (student + teacher + distillation terms + backward).

    python tools/benchmarks/time_detection_distill.py CONFIG \
        [--batch-size 8] [--size 128] [--iters 10] [--warmup 2]

The teacher forward covers its backbone, neck and RoI head on the
student's sampled RoIs. CONFIG is a distillation config (e.g. the toy
WKD-L+F one). Batches are synthetic (mmdet's demo inputs, 1-4 boxes per
image) so no dataset is needed; the teacher is randomly initialised
(weights do not change the cost). Prints the mean and standard deviation
of each, in seconds.
"""
import argparse
import statistics
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401  (registrations)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
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
    from mmdet.testing import demo_mm_inputs

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
                model.set_cost_matrix(torch.load(args.cost_file), [name])
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
    print('loss terms at the first step (fresh student): ' + ', '.join(
        f'{k}={float(sum(v) if isinstance(v, list) else v):.4g}'
        for k, v in first.items()))
    print(f'config: {args.config}')
    print(f'batch {args.batch_size} x {args.size}px, {args.iters} timed '
          f'iterations after {args.warmup} warm-up, '
          f'{torch.get_num_threads()} threads')
    for name, fn in (('student alone (train step)', student_step),
                     ('teacher forward alone (+RoI head)',
                      teacher_forward), ('distillation step', distill_step)):
        mean, std = timed(fn, args.iters, args.warmup)
        print(f'{name:40s} {mean:.3f} s +- {std:.3f}')


if __name__ == '__main__':
    main()
