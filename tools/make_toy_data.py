# Copyright (c) OpenMMLab. All rights reserved.
"""Generate mmkd's toy handwritten-digit detection / classification data.

Example::

    python tools/make_toy_data.py                       # data/toy_digits
    python tools/make_toy_data.py --num-train 200 --num-val 50 \\
        --out-dir data/toy_small --preview /tmp/toy_preview.png

A re-run with the same parameters finds ``<out-dir>/meta.json`` and skips;
``--force`` regenerates. See ``mmkd/datasets/toy_digits/`` for the layout.
"""
import argparse
import importlib.util
import json
import os.path as osp
import sys
from typing import List, Optional


def _load_toy_digits():
    """Import ``mmkd.datasets.toy_digits`` without importing ``mmkd``.

    ``mmkd/__init__.py`` may pull in torch / mmengine; the generator needs
    only numpy, PIL and scikit-learn, so its package is loaded straight from
    its folder (which also works from a plain clone without
    ``pip install -e .``).
    """
    folder = osp.join(
        osp.dirname(osp.dirname(osp.abspath(__file__))), 'mmkd', 'datasets',
        'toy_digits')
    spec = importlib.util.spec_from_file_location(
        '_mmkd_toy_digits',
        osp.join(folder, '__init__.py'),
        submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def _pair(kind):

    def parse(text: str):
        parts = text.replace(',', ' ').split()
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(
                f'expected "LO,HI", got {text!r}')
        return [kind(p) for p in parts]

    return parse


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate the toy digits detection (COCO) and '
        'classification (folder) sets.')
    parser.add_argument('--out-dir', default='data/toy_digits')
    parser.add_argument('--num-train', type=int, default=2000,
                        help='training detection images')
    parser.add_argument('--num-val', type=int, default=500,
                        help='validation detection images')
    parser.add_argument('--num-test', type=int, default=500,
                        help='test detection images (held-out glyphs)')
    parser.add_argument('--img-size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--min-digits', type=int, default=1)
    parser.add_argument('--max-digits', type=int, default=4)
    parser.add_argument('--num-cls-train', type=int, default=3000,
                        help='training classification crops')
    parser.add_argument('--num-cls-val', type=int, default=1000,
                        help='validation classification crops')
    parser.add_argument('--num-cls-test', type=int, default=1000,
                        help='test classification crops')
    parser.add_argument('--cls-img-size', type=int, default=32)
    parser.add_argument('--val-fraction', type=float, default=0.125,
                        help='share of each class\'s glyphs held out for val')
    parser.add_argument('--test-fraction', type=float, default=0.125,
                        help='share of each class\'s glyphs held out for '
                        'test')
    only = parser.add_mutually_exclusive_group()
    only.add_argument('--det-only', action='store_true',
                      help='write only the detection set')
    only.add_argument('--cls-only', action='store_true',
                      help='write only the classification set')
    group = parser.add_argument_group(
        'difficulty', 'start from a preset and override single knobs '
        '(ranges as LO,HI); see ToyDigitsDifficulty')
    group.add_argument('--difficulty', default='hard',
                       help='preset: hard (default), medium, easy or clean')
    group.add_argument('--digit-size', type=_pair(float),
                       help='glyph size range in px, e.g. 12,36')
    group.add_argument('--contrast', type=_pair(float),
                       help='ink/background contrast range, e.g. 0.15,0.5')
    group.add_argument('--num-distractors', type=_pair(int),
                       help='distractor strokes per image, e.g. 2,6')
    group.add_argument('--num-fragments', type=_pair(int),
                       help='unannotated digit fragments per image, e.g. 0,2')
    group.add_argument('--occlusion-prob', type=float)
    group.add_argument('--blur-prob', type=float)
    group.add_argument('--noise-std', type=_pair(float),
                       help='pixel noise std range, e.g. 0.01,0.05')
    group.add_argument('--set', nargs='+', default=[], metavar='KEY=JSON',
                       help='any other knob, e.g. rotation=0 '
                       'max_overlap=0.1')
    parser.add_argument('--force', action='store_true',
                        help='regenerate even if up to date')
    parser.add_argument('--preview', metavar='PNG',
                        help='also save a grid of 16 val images with boxes')
    parser.add_argument('--quiet', action='store_true')
    return parser.parse_args(argv)


def difficulty_from_args(args: argparse.Namespace) -> dict:
    """Collect the preset and the overridden knobs into a mapping."""
    overrides = dict(preset=args.difficulty)
    for key in ('digit_size', 'contrast', 'num_distractors', 'num_fragments',
                'occlusion_prob', 'blur_prob', 'noise_std'):
        value = getattr(args, key)
        if value is not None:
            overrides[key] = value
    for item in args.set:
        key, sep, value = item.partition('=')
        if not sep:
            raise SystemExit(f'--set expects KEY=VALUE, got {item!r}')
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def save_preview(toy, paths: dict, png: str, num: int = 16) -> None:
    """Draw the first ``num`` val images with their boxes into ``png``."""
    import numpy as np
    from PIL import Image

    with open(paths['val_ann']) as f:
        coco = json.load(f)
    images, boxes, labels = [], [], []
    for info in coco['images'][:num]:
        anns = [a for a in coco['annotations']
                if a['image_id'] == info['id']]
        images.append(np.asarray(Image.open(
            osp.join(paths['val_img_dir'], info['file_name'])).convert('RGB')))
        boxes.append([a['bbox'] for a in anns])
        labels.append([a['category_id'] - 1 for a in anns])
    Image.fromarray(toy.make_preview(images, boxes, labels)).save(png)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    toy = _load_toy_digits()
    try:
        paths = toy.generate_toy_digits(
            args.out_dir,
            num_train=args.num_train,
            num_val=args.num_val,
            num_test=args.num_test,
            img_size=args.img_size,
            seed=args.seed,
            min_digits=args.min_digits,
            max_digits=args.max_digits,
            num_cls_train=args.num_cls_train,
            num_cls_val=args.num_cls_val,
            num_cls_test=args.num_cls_test,
            cls_img_size=args.cls_img_size,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            difficulty=difficulty_from_args(args),
            det=not args.cls_only,
            cls=not args.det_only,
            force=args.force,
            verbose=not args.quiet)
    except ValueError as e:
        raise SystemExit(f'make_toy_data.py: error: {e}')
    if args.preview:
        if 'val_ann' not in paths:
            raise SystemExit('--preview needs the detection set (drop '
                             '--cls-only)')
        save_preview(toy, paths, args.preview)
        if not args.quiet:
            print(f'preview saved to {args.preview}')
    return paths


if __name__ == '__main__':
    main()
