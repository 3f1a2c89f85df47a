# Copyright (c) OpenMMLab. All rights reserved.
"""Build the WKD-L cost matrix of a trained two-stage detector teacher.

    python tools/build_cost_matrix.py CONFIG OUT [--checkpoint CKPT]

CONFIG is either a distillation config (its ``model.teacher`` and
``model.teacher_ckpt`` are used) or the teacher's own detector config (then
``--checkpoint`` is required). The teacher runs over the config's training
(or ``--split val``) dataloader; OUT (``.pth``, a plain float tensor of shape
``(num_classes + 1, num_classes + 1)``, background last) and a heatmap PNG
beside it are written. See ``mmkd.apis.cost_matrix`` for the recipe.
"""
import argparse
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmkd  # noqa: F401  (registrations, checkpoint allow-list)
from mmkd.apis.cost_matrix import build_detection_cost_matrix, save_cost_matrix
from mmkd.models import BaseDistiller, load_checkpoint_into


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build the CKA cost matrix for WKD-L from a detector')
    parser.add_argument('config', help='distillation or teacher config')
    parser.add_argument('out', help='output .pth (a .png is written beside)')
    parser.add_argument('--checkpoint', help='teacher checkpoint')
    parser.add_argument(
        '--split', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--kappa', type=float, default=1.0)
    parser.add_argument('--num-per-class', type=int, default=100)
    parser.add_argument('--bg-per-image', type=int, default=16)
    parser.add_argument('--max-batches', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--num-workers', type=int, default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cuda' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--no-heatmap', action='store_true')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model_cfg = cfg.model
    if 'teacher' in model_cfg:
        teacher_spec = model_cfg.teacher
        checkpoint = args.checkpoint or model_cfg.get('teacher_ckpt')
    else:
        teacher_spec = model_cfg
        checkpoint = args.checkpoint
    if checkpoint is None:
        print('No teacher checkpoint: pass --checkpoint (or use a '
              'distillation config with teacher_ckpt).', file=sys.stderr)
        return 2
    teacher = BaseDistiller._build_model(teacher_spec, 'teacher')
    load_checkpoint_into(teacher, checkpoint, strict=True, role='teacher')
    teacher.to(args.device).eval()

    loader_cfg = cfg.get(f'{args.split}_dataloader').copy()
    if args.batch_size is not None:
        loader_cfg['batch_size'] = args.batch_size
    if args.num_workers is not None:
        loader_cfg['num_workers'] = args.num_workers
        if args.num_workers == 0:
            loader_cfg['persistent_workers'] = False
    dataloader = Runner.build_dataloader(loader_cfg, seed=args.seed)
    classes = dataloader.dataset.metainfo.get('classes')
    cost = build_detection_cost_matrix(
        teacher,
        dataloader,
        kappa=args.kappa,
        num_per_class=args.num_per_class,
        bg_per_image=args.bg_per_image,
        max_batches=args.max_batches,
        seed=args.seed,
        class_names=classes)
    names = list(classes) + ['background'] if classes else None
    written = save_cost_matrix(cost, args.out, names, not args.no_heatmap)
    print(f'Cost matrix {tuple(cost.shape)}: wrote {", ".join(written)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
