# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark WKD-L: shared-kernel ``wkd_logit_loss`` vs a per-sample version.

The per-sample version is the official formulation: the cost matrix is
copied per sample (B x (n-1) x (n-1)) and Sinkhorn runs with batched
matrix-vector products. Both get the same inputs (paper mode: target
separation, tau 2, eta 0.05, 10 iterations). For each scale the script
reports forward+backward time, peak memory, their ratios and the largest
differences of the loss values and the student-logit gradients.

Each variant runs in its own subprocess. Peak memory is the peak resident
set size during the first forward+backward minus the resident size just
before it, once the inputs exist (CPU; on Linux the peak is reset through
``/proc/self/clear_refs`` after ``malloc_trim``, elsewhere the process's
``ru_maxrss`` is used), or ``torch.cuda.max_memory_allocated`` minus the
memory allocated by the inputs (CUDA).

Example:
    python tools/benchmarks/bench_wkd_logit.py
    python tools/benchmarks/bench_wkd_logit.py --device cuda --repeat 10
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F
from memory import cpu_peak, reset_cpu_peak

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCALES = {
    'imagenet': dict(batch=256, classes=1000),
    'detection': dict(batch=1024, classes=81),
}
VARIANTS = ('shared', 'per-sample')


def per_sample_wkd(student, teacher, labels, cost, temperature=2.0,
                   reg=0.05, iters=10):
    """The official WKD-L with target separation, cost copied per sample."""
    num, width = student.shape
    label = labels.view(-1, 1)
    log_s = F.log_softmax(student, dim=1).gather(1, label)
    p_t = F.softmax(teacher, dim=1).gather(1, label).detach()
    loss_t = -(p_t * log_s).mean()
    mask = torch.ones_like(student).scatter_(1, label, 0).bool()
    student = student[mask].reshape(num, -1)
    teacher = teacher[mask].reshape(num, -1)
    costs = cost.repeat(num, 1, 1)
    pair_mask = mask[:, None, :] * mask[:, :, None]
    costs = costs[pair_mask].reshape(num, width - 1, width - 1)
    a = F.softmax(student / temperature, dim=-1).unsqueeze(-1)
    b = F.softmax(teacher.detach() / temperature, dim=-1).unsqueeze(-1)
    costs = F.relu(costs) + 1e-8
    u = 1 / (width - 1) * torch.ones_like(a)
    kernel = torch.exp(-costs / reg)
    kernel_t = kernel.transpose(2, 1)
    for _ in range(iters):
        v = b / (torch.bmm(kernel_t, u) + 1e-8)
        u = a / (torch.bmm(kernel, v) + 1e-8)
    flow = u.reshape(num, -1, 1) * kernel * v.reshape(num, 1, -1)
    return loss_t + (flow * costs).sum(-1).sum(-1).mean()


def make_inputs(batch, classes, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    points = torch.randn(classes, 16, generator=gen)
    cost = 1 - torch.exp(-torch.cdist(points, points) / 6)
    cost.fill_diagonal_(0)
    student = torch.randn(batch, classes, generator=gen) * 3
    teacher = torch.randn(batch, classes, generator=gen) * 3
    labels = torch.randint(0, classes, (batch, ), generator=gen)
    return [t.to(device) for t in (student, teacher, labels, cost)]


def worker(args):
    """Run one variant at one scale; print a JSON line with the results."""
    sys.path.insert(0, ROOT)
    from mmkd.losses import wkd_logit_loss

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == 'cuda'
    scale = SCALES[args.scale]
    student, teacher, labels, cost = make_inputs(scale['batch'],
                                                 scale['classes'], device)

    def step(rows=None):
        logits = student[:rows].detach().clone().requires_grad_()
        if args.variant == 'shared':
            loss = wkd_logit_loss(logits, teacher[:rows], cost, labels[:rows])
        else:
            loss = per_sample_wkd(logits, teacher[:rows], labels[:rows], cost)
        loss.backward()
        return loss.detach(), logits.grad

    # Warm up on 2 rows: loads the kernels' code pages and library buffers,
    # which would otherwise count as the variant's memory.
    step(rows=2)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base, mode = reset_cpu_peak()
    loss, grad = step()
    if cuda:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = cpu_peak(mode) - base
    times = []
    for _ in range(args.repeat):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    torch.save(grad.cpu(), args.grad_out)
    print(
        json.dumps(
            dict(
                time_s=statistics.median(times),
                peak_bytes=peak,
                loss=loss.item())))


def run_variant(scale, variant, args, grad_out):
    cmd = [
        sys.executable,
        osp.abspath(__file__), '--worker', '--scale', scale, '--variant',
        variant, '--device', args.device, '--repeat',
        str(args.repeat), '--threads',
        str(args.threads), '--grad-out', grad_out
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument(
        '--scales', nargs='+', default=list(SCALES), choices=list(SCALES))
    parser.add_argument(
        '--repeat', type=int, default=3,
        help='timed runs per variant after one untimed run (median shown)')
    parser.add_argument(
        '--threads', type=int, default=0,
        help='CPU threads for torch (0: torch default)')
    parser.add_argument(
        '--worker', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--scale', help=argparse.SUPPRESS)
    parser.add_argument('--variant', help=argparse.SUPPRESS)
    parser.add_argument('--grad-out', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit('--device cuda given but CUDA is not available')
    threads = args.threads or torch.get_num_threads()
    print(f'torch {torch.__version__}, device {args.device}, threads '
          f'{threads}, median of {args.repeat} runs, '
          'forward + backward, paper mode (tau 2, eta 0.05, 10 iters, '
          'target separation)')
    header = (f"{'scale':<10} {'B':>5} {'n':>5} {'variant':<11} "
              f"{'time ms':>10} {'peak MiB':>10} {'loss':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales:
            print()
            print(header)
            results, grads = {}, {}
            for variant in VARIANTS:
                grad_out = osp.join(tmp, f'{scale}-{variant}.pth')
                res = run_variant(scale, variant, args, grad_out)
                results[variant] = res
                grads[variant] = torch.load(grad_out, weights_only=True)
                size = SCALES[scale]
                print(f"{scale:<10} {size['batch']:>5} {size['classes']:>5} "
                      f'{variant:<11} {res["time_s"] * 1e3:>10.1f} '
                      f'{res["peak_bytes"] / 2**20:>10.1f} '
                      f'{res["loss"]:>12.8f}')
            shared, ref = results['shared'], results['per-sample']
            speed = ref['time_s'] / shared['time_s']
            memory = ref['peak_bytes'] / max(shared['peak_bytes'], 1)
            loss_diff = abs(shared['loss'] - ref['loss'])
            grad_diff = (grads['shared'] - grads['per-sample']).abs().max()
            grad_scale = grads['per-sample'].abs().max()
            print(f'{scale}: {speed:.1f}x faster, {memory:.1f}x less peak '
                  f'memory; max |loss diff| {loss_diff:.3g} (rel '
                  f"{loss_diff / abs(ref['loss']):.3g}), max |grad diff| "
                  f'{grad_diff:.3g} (rel to max |grad| '
                  f'{grad_diff / grad_scale:.3g})')


if __name__ == '__main__':
    os.environ.setdefault('PYTHONHASHSEED', '0')
    main()
