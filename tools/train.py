# Copyright (c) OpenMMLab. All rights reserved.
"""Train an mmdet or mmpretrain model, plain or distilled, with mmkd loaded.

Same flags as mmdet's ``tools/train.py``; the config's ``default_scope``
(``mmdet`` or ``mmpretrain``) picks the registries. Importing ``mmkd``
registers its losses, distillers and hooks and lets torch >= 2.6 load
MMEngine checkpoints (``--resume``, ``load_from``).
"""
import argparse

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmkd  # noqa: F401  (registrations, checkpoint allow-list)
from mmkd.utils import enable_amp, finish_distributed, load_tool_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train a detector or classifier (optionally distilled)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training (GPU only)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='enable automatically scaling LR.')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or without a path from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs (as in mmdet)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_tool_config(args.config, args.launcher, args.cfg_options,
                           args.work_dir)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'enable' not in cfg.get('auto_scale_lr', {}) or \
                'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError(
                '--auto-scale-lr needs auto_scale_lr=dict(enable=False, '
                'base_batch_size=...) in the config.')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
