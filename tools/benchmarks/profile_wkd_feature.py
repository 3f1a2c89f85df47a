# Copyright (c) OpenMMLab. All rights reserved.
"""Profile and time the WKD-F term on RoI features, forward + backward.

    python tools/benchmarks/profile_wkd_feature.py [--rois 512 1024 2048]
        [--channels 128] [--size 7] [--grid 4] [--threads 1]

For each RoI count, times ``mmkd.losses.wkd_feature_loss`` (diagonal
covariance, the paper's RoI setting) on random student / teacher features
against the formulation of mmkd 0.1.0 (cell sums as two 1-D GEMMs with a
transpose copy between them, moments through autograd), side by side in
one process, and prints the speed-up and the largest loss and gradient
differences. ``--profile`` adds torch.profiler's per-op tables (self CPU
time, forward and backward) of both at the largest RoI count.
"""
import argparse
import statistics
import time

import torch

from mmkd.losses import wkd_feature_loss
from mmkd.losses.wkd_feature_loss import _cell_membership


def reference_loss(student, teacher, grid, eps=1e-5, ratio=2.0):
    """WKD-F (diag) as mmkd 0.1.0 computed it, for the side-by-side."""

    def moments(feat):
        num, channels, height, width = feat.shape
        rows = _cell_membership(height, grid, feat)
        cols = _cell_membership(width, grid, feat)
        shift = feat.mean(dim=(2, 3), keepdim=True)
        x = feat - shift
        count = rows.sum(1)[:, None] * cols.sum(1)[None, :]

        def cell_sums(v):
            v = (v.reshape(-1, width) @ cols.t()).view(
                num, channels, height, grid)
            v = v.transpose(2, 3).reshape(-1, height) @ rows.t()
            return v.view(num, channels, grid, grid).transpose(2, 3)

        sum_x, sum_sq = cell_sums(x), cell_sums(x.square())
        mean = sum_x / count + shift
        var = (sum_sq - sum_x.square() / count).clamp(min=0) / (count - 1)
        return (mean.flatten(2).transpose(1, 2),
                (var + eps).flatten(2).transpose(1, 2))

    mean_s, var_s = moments(student)
    mean_t, var_t = moments(teacher.detach())
    mean_term = (mean_s - mean_t).square().sum(-1)
    cov_term = (var_s.sqrt() - var_t.sqrt()).square().sum(-1)
    return (ratio * mean_term + cov_term).mean(1).mean()


def current_loss(student, teacher, grid):
    return wkd_feature_loss(student, teacher, grid=grid)


def step(fn, student, teacher, grid):
    student.grad = None
    loss = fn(student, teacher, grid)
    loss.backward()
    return loss.detach(), student.grad


def timed(fn, args, repeat, warmup=2):
    for _ in range(warmup):
        step(fn, *args)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step(fn, *args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rois', type=int, nargs='+',
                        default=[512, 1024, 2048, 4096])
    parser.add_argument('--channels', type=int, default=128)
    parser.add_argument('--size', type=int, default=7)
    parser.add_argument('--grid', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=10)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--profile', action='store_true')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'WKD-F diag, {args.channels} channels, {args.size}x{args.size}, '
          f'grid {args.grid}, forward + backward, median of {args.repeat}, '
          f'{torch.get_num_threads()} threads')
    print(f'{"RoIs":>6} {"mmkd 0.1.0":>11} {"now":>9} {"speed-up":>9} '
          f'{"loss diff":>10} {"grad diff":>10}')
    for rois in args.rois:
        gen = torch.Generator().manual_seed(rois)
        shape = (rois, args.channels, args.size, args.size)
        student = torch.randn(shape, generator=gen).requires_grad_()
        teacher = torch.randn(shape, generator=gen) * 1.5 + 0.5
        a = (student, teacher, args.grid)
        loss_r, grad_r = (t.clone() for t in step(reference_loss, *a))
        loss_c, grad_c = (t.clone() for t in step(current_loss, *a))
        t_ref = timed(reference_loss, a, args.repeat)
        t_now = timed(current_loss, a, args.repeat)
        loss_diff = float((loss_r - loss_c).abs())
        grad_diff = float((grad_r - grad_c).abs().max() /
                          grad_r.abs().max())
        print(f'{rois:>6} {t_ref * 1e3:>8.1f} ms {t_now * 1e3:>6.1f} ms '
              f'{t_ref / t_now:>8.2f}x {loss_diff:>10.1e} {grad_diff:>10.1e}')
    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        for name, fn in (('mmkd 0.1.0', reference_loss), ('now',
                                                          current_loss)):
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(3):
                    step(fn, *a)
            print(f'\n{name}, {rois} RoIs, 3 steps:')
            print(prof.key_averages().table(
                sort_by='self_cpu_time_total', row_limit=12))


if __name__ == '__main__':
    main()
