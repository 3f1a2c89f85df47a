# Copyright (c) OpenMMLab. All rights reserved.
"""Export the student of a distillation checkpoint for plain mmdet/mmpretrain.

    python tools/export_student.py CONFIG CKPT OUT

CONFIG is the distillation config the checkpoint was trained with; the
student is built from its ``model.student`` and loads the weights strictly
before anything is written, so a mismatch fails here. The output is
``{'state_dict': <student weights>, 'meta': ...}`` with plain Python values
only; ``tools/test.py STUDENT_CONFIG OUT`` of mmdet (or mmpretrain) loads it
without mmkd.
"""
import argparse
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401  (registrations, checkpoint allow-list)
from mmkd.apis.export import export_student
from mmkd.models import build_model
from mmkd.utils.checkpoint import load_checkpoint_file


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the student of a distiller checkpoint as a plain '
        'mmdet/mmpretrain checkpoint')
    parser.add_argument('config', help='the distillation config')
    parser.add_argument('checkpoint', help='the distiller checkpoint')
    parser.add_argument('out', help='output file (.pth)')
    parser.add_argument(
        '--no-verify',
        action='store_true',
        help='do not build the student to check the weights')
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
    student_cfg = cfg.model.get('student')
    if student_cfg is None:
        print(f'{args.config} is not a distillation config (model has no '
              '`student`).', file=sys.stderr)
        return 2
    try:
        checkpoint = load_checkpoint_file(args.checkpoint,
                                          map_location='cpu')
    except FileNotFoundError:
        print(f'Checkpoint {args.checkpoint!r} does not exist.',
              file=sys.stderr)
        return 2
    student = None
    if not args.no_verify:
        init_default_scope(cfg.get('default_scope', 'mmdet'))
        student = build_model(student_cfg, 'student')
    out = export_student(checkpoint, args.out, student)
    print(f'Wrote the student to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
