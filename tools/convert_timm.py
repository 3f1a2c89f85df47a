# Copyright (c) OpenMMLab. All rights reserved.
"""Write a timm checkpoint as an mmpretrain one, e.g. to start a student.

    python tools/convert_timm.py CONFIG TIMM_CKPT OUT [--role student]

CONFIG is an mmpretrain classifier config, or a distillation config with
``--role student`` / ``--role teacher`` naming which of its models the
weights are for. TIMM_CKPT is a timm state dict (bare, or under
``state_dict`` / ``model``, as timm's training script saves it) of a ViT /
DeiT, Swin, ConvNeXt or ResNet classifier of the same architecture; the
mapping is :func:`mmkd.models.backbones.timm_checkpoint.timm_to_mmpretrain`
and the model loads the result strictly before anything is written. OUT
(``{'state_dict': ..., 'meta': ...}``) then starts a student with
``model.student.init_cfg=dict(type='Pretrained', checkpoint=OUT)`` (or
``load_from`` of a plain mmpretrain run). A teacher needs no conversion:
``teacher_ckpt`` takes the timm file as it is.
"""
import argparse
import sys

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401  (registrations)
from mmkd.models import build_model
from mmkd.models.backbones.timm_checkpoint import timm_to_mmpretrain
from mmkd.utils.checkpoint import load_checkpoint_file


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a timm checkpoint as an mmpretrain checkpoint')
    parser.add_argument('config', help='classifier or distillation config')
    parser.add_argument('checkpoint', help='the timm checkpoint')
    parser.add_argument('out', help='output file (.pth)')
    parser.add_argument(
        '--role',
        choices=('student', 'teacher'),
        help='which model of a distillation config the weights are for')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    model_cfg = cfg.model
    if args.role is not None:
        if args.role not in model_cfg:
            print(f'{args.config} has no model.{args.role}: give a '
                  'distillation config, or drop --role for a classifier '
                  'config.', file=sys.stderr)
            return 2
        model_cfg = model_cfg[args.role]
    elif 'student' in model_cfg:
        print(f'{args.config} is a distillation config: say which model '
              'the weights are for with --role student or --role teacher.',
              file=sys.stderr)
        return 2
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = build_model(model_cfg)
    try:
        ckpt = load_checkpoint_file(args.checkpoint, map_location='cpu')
    except FileNotFoundError:
        print(f'Checkpoint {args.checkpoint!r} does not exist.',
              file=sys.stderr)
        return 2
    for key in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and isinstance(ckpt.get(key), dict):
            ckpt = ckpt[key]
            break
    try:
        state = timm_to_mmpretrain(ckpt, model)
    except ValueError as e:
        print(f'{args.checkpoint}: {e}', file=sys.stderr)
        return 2
    model.load_state_dict(state, strict=True)
    torch.save(dict(state_dict=state,
                    meta=dict(converted_from=args.checkpoint,
                              config=args.config)), args.out)
    print(f'Wrote {len(state)} tensors to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
