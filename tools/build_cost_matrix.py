# Copyright (c) OpenMMLab. All rights reserved.
"""Build the WKD-L cost matrix of a trained teacher (detector or classifier).

    python tools/build_cost_matrix.py CONFIG OUT [--checkpoint CKPT]

CONFIG is either a distillation config (the distiller is built, so the
teacher sees each batch as training feeds it: the student's preprocessing,
re-normalised for the teacher; ``model.teacher_ckpt`` or ``--checkpoint``)
or the teacher's own config (then ``--checkpoint`` is required and the
teacher's own ``data_preprocessor`` applies). The teacher runs over the
config's training (or ``--split val``) dataloader; OUT (``.pth``: the matrix
and a record of what it was built from, which ``mmkd.CostMatrixHook``
checks against its run) and a heatmap PNG beside it are written.

* A two-stage detector teacher (one with a ``roi_head``) gives a
  ``(num_classes + 1, num_classes + 1)`` matrix from its RoI features,
  background last (``mmkd.apis.cost_matrix``).
* A one-stage detector teacher (a dense ``bbox_head``: GFL, RetinaNet,
  ATSS, FCOS) gives the same size from its head's classification-branch
  features at the priors its own assignment makes positive, background
  (locations away from every box) last (``mmkd.apis.cost_matrix``).
* An mmpretrain classifier teacher gives a ``(num_classes, num_classes)``
  matrix from its logits (``--source logits``, as the official ImageNet
  matrices), penultimate features (``--source pre_logits``, as the paper)
  or every position of its last-stage feature map (``--source feature``,
  as the official CIFAR matrices) (``mmkd.apis.cls_cost_matrix``).
"""
import argparse
import copy
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmkd  # noqa: F401  (registrations, checkpoint allow-list)
from mmkd.apis.cls_cost_matrix import CLS_FEATURE_SOURCES
from mmkd.apis.cost_io import save_cost_matrix
from mmkd.apis.cost_matrix import build_teacher_cost_matrix
from mmkd.apis.cost_record import cost_matrix_record
from mmkd.models import build_model, load_checkpoint_into
from mmkd.models.builder import with_data_preprocessor
from mmkd.registry import MODELS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build the CKA cost matrix for WKD-L from a teacher '
        '(two-stage or one-stage detector, or image classifier)')
    parser.add_argument('config', help='distillation or teacher config')
    parser.add_argument('out', help='output .pth (a .png is written beside)')
    parser.add_argument('--checkpoint', help='teacher checkpoint')
    parser.add_argument(
        '--split', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--kappa', type=float, default=1.0)
    parser.add_argument('--num-per-class', type=int, default=100)
    parser.add_argument(
        '--bg-per-image',
        type=int,
        default=16,
        help='background RoIs (two-stage) or locations (one-stage) per '
        'image (detectors only)')
    parser.add_argument(
        '--source',
        choices=list(CLS_FEATURE_SOURCES),
        default='logits',
        help='class features of a classifier teacher: its logits, its '
        'penultimate features, or every position of its distilled stage '
        '(classifiers only)')
    parser.add_argument(
        '--test-pipeline',
        action='store_true',
        help="read the split with the config's test pipeline, in order (no "
        'augmentation, no shuffling), as the official CIFAR matrices')
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
    distill = 'teacher' in model_cfg
    checkpoint = args.checkpoint or (
        model_cfg.get('teacher_ckpt') if distill else None)
    if checkpoint is None:
        print('No teacher checkpoint: pass --checkpoint (or use a '
              'distillation config with teacher_ckpt).', file=sys.stderr)
        return 2
    # a top-level data_preprocessor applies, as when the Runner builds it
    model_cfg = with_data_preprocessor(model_cfg.copy(), cfg)
    if distill:
        model_cfg['teacher_ckpt'] = checkpoint
        # only the teacher and the input path are needed; the terms may
        # name the very file being built
        model_cfg['distill_losses'] = None
        model_cfg['distill_inputs'] = None
        distiller = MODELS.build(model_cfg).to(args.device)
        teacher, preprocess = distiller.teacher, distiller.teacher_data
    else:
        teacher = build_model(model_cfg, 'teacher')
        load_checkpoint_into(teacher, checkpoint, strict=True,
                             role='teacher')
        preprocess = None
    teacher.to(args.device).eval()

    loader_cfg = copy.deepcopy(cfg.get(f'{args.split}_dataloader'))
    if args.test_pipeline:
        loader_cfg.dataset.pipeline = cfg.test_dataloader.dataset.pipeline
        loader_cfg.sampler = dict(type='DefaultSampler', shuffle=False)
    if args.batch_size is not None:
        loader_cfg['batch_size'] = args.batch_size
    if args.num_workers is not None:
        loader_cfg['num_workers'] = args.num_workers
        if args.num_workers == 0:
            loader_cfg['persistent_workers'] = False
    dataloader = Runner.build_dataloader(loader_cfg, seed=args.seed)
    classes = dataloader.dataset.metainfo.get('classes')
    cost, names = build_teacher_cost_matrix(
        teacher,
        dataloader,
        kappa=args.kappa,
        num_per_class=args.num_per_class,
        max_batches=args.max_batches,
        class_names=classes,
        bg_per_image=args.bg_per_image,
        seed=args.seed,
        source=args.source,
        preprocess=preprocess)
    record = cost_matrix_record(
        teacher,
        kappa=args.kappa,
        num_per_class=args.num_per_class,
        class_names=names,
        source=args.source,
        bg_per_image=args.bg_per_image,
        teacher_ckpt=checkpoint,
        teacher_config=distiller.teacher_config if distill else args.config,
        seed=args.seed)
    written = save_cost_matrix(cost, args.out, names, not args.no_heatmap,
                               record)
    print(f'Cost matrix {tuple(cost.shape)}: wrote {", ".join(written)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
