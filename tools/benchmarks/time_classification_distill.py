# Copyright (c) OpenMMLab. All rights reserved.
"""Time one training iteration of a classification distillation config:
the student alone (its own loss, backward and SGD step) and the
distillation step (student + teacher forward + distillation terms,
backward and step), interleaved so that both see the same machine load.

    OMP_NUM_THREADS=1 python tools/benchmarks/time_classification_distill.py \
        CONFIG [--batch-size 64] [--size 32] [--iters 20] [--warmup 3]

Batches are synthetic (random images and labels); the teacher and the
cost matrix are random when ``--random-teacher`` is given (weights do not
change the cost), otherwise the config's ``teacher_ckpt`` and cost matrix
are used. Prints the mean and standard deviation in milliseconds.
"""
import argparse
import copy
import statistics
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401  (registrations)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--random-teacher', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    import importlib

    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    for module in cfg.get('custom_imports', {}).get('imports', []):
        importlib.import_module(module)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = copy.deepcopy(cfg.model)
    n_cls = cfg.model.student.head.num_classes
    if args.random_teacher:
        model_cfg.teacher_ckpt = None
        for loss in model_cfg.distill_losses.values():
            if 'cost_matrix' in loss:
                cost = torch.rand(n_cls, n_cls)
                cost = (cost + cost.t()) / 2
                loss.cost_matrix = cost.fill_diagonal_(0)
    torch.manual_seed(0)
    distiller = MODELS.build(model_cfg)
    student = MODELS.build(copy.deepcopy(cfg.model.student))
    distiller.train()
    student.train()
    gen = torch.Generator().manual_seed(0)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, args.size, args.size),
                          generator=gen).byte()
            for _ in range(args.batch_size)
        ],
        data_samples=[
            DataSample().set_gt_label(i % n_cls)
            for i in range(args.batch_size)
        ])
    batch = distiller.data_preprocessor(data, True)
    inputs, samples = batch['inputs'], batch['data_samples']
    opts = {
        'student alone': (student,
                          torch.optim.SGD(student.parameters(), lr=1e-3)),
        'distillation step': (distiller,
                              torch.optim.SGD(
                                  [p for p in distiller.parameters()
                                   if p.requires_grad], lr=1e-3)),
    }
    times = {name: [] for name in opts}
    for it in range(args.warmup + args.iters):
        for name, (model, opt) in opts.items():
            start = time.perf_counter()
            losses = model.loss(inputs, samples)
            total, _ = model.parse_losses(losses)
            opt.zero_grad()
            total.backward()
            opt.step()
            if it >= args.warmup:
                times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        print(f'{name}: {1e3 * statistics.mean(values):.1f} +- '
              f'{1e3 * statistics.pstdev(values):.1f} ms/iter '
              f'(batch {args.batch_size}, {args.size}x{args.size}, '
              f'{args.iters} iters)')


if __name__ == '__main__':
    main()
