# Copyright (c) OpenMMLab. All rights reserved.
"""Writing a toy digits set: COCO detection splits, classification folders,
``meta.json``, and regeneration only when something changed."""
from __future__ import annotations

import json
import os
import os.path as osp
import shutil
import time
from typing import Any, Dict, Mapping

import numpy as np
from PIL import Image

from .difficulty import DifficultyLike, ToyDigitsDifficulty, resolve_difficulty
from .glyphs import CLASSES, load_digit_glyphs, split_source_indices
from .render import (check_sizes, render_classification_crop,
                     render_detection_image)

#: Bump whenever the rendered pixels or annotations change for the same
#: parameters; :func:`generate_toy_digits` regenerates stale outputs.
GENERATOR_VERSION = '1.1'
#: COCO ``categories`` list shared by both splits.
CATEGORIES = [dict(id=i + 1, name=c, supercategory='digit')
              for i, c in enumerate(CLASSES)]


def _save_png(path: str, image: np.ndarray) -> None:
    Image.fromarray(image).save(path, format='PNG', compress_level=1)


#: Random stream of each split's detection images and classification crops
#: (see the module docstring); test came last, hence 5 and 6.
_DET_STREAM = dict(train=1, val=2, test=5)
_CLS_STREAM = dict(train=3, val=4, test=6)
#: The splits in the order they are written.
SPLITS = ('train', 'val', 'test')


def _write_det_split(root: str, name: str, num: int,
                     pool: np.ndarray, seed: int, img_size: int,
                     min_digits: int, max_digits: int,
                     d: ToyDigitsDifficulty) -> str:
    img_dir = osp.join(root, 'images', name)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for i in range(num):
        rng = np.random.default_rng([seed, _DET_STREAM[name], i])
        extra: dict = {}
        image, instances = render_detection_image(
            rng, pool=pool, img_size=img_size, min_digits=min_digits,
            max_digits=max_digits, difficulty=d, info=extra)
        file_name = f'{i + 1:06d}.png'
        _save_png(osp.join(img_dir, file_name), image)
        images.append(dict(
            id=i + 1, file_name=file_name, width=img_size, height=img_size,
            fragment_source_indices=extra['fragment_source_indices']))
        for inst in instances:
            x, y, w, h = inst['bbox']
            annotations.append(dict(
                id=len(annotations) + 1, image_id=i + 1,
                category_id=inst['label'] + 1, bbox=[x, y, w, h],
                area=float(w * h), iscrowd=0,
                source_index=inst['source_index']))
    coco = dict(
        info=dict(description=f'mmkd toy digits ({name})',
                  version=GENERATOR_VERSION),
        licenses=[], images=images, annotations=annotations,
        categories=CATEGORIES)
    ann_file = osp.join(root, 'annotations', f'instances_{name}.json')
    with open(ann_file, 'w') as f:
        json.dump(coco, f, separators=(',', ':'))
    return ann_file


def _write_cls_split(root: str, name: str, num: int,
                     pool: np.ndarray, seed: int, img_size: int,
                     d: ToyDigitsDifficulty) -> str:
    _, labels = load_digit_glyphs()
    split_dir = osp.join(root, name)
    for c in CLASSES:
        os.makedirs(osp.join(split_dir, c), exist_ok=True)
    by_class = [pool[labels[pool] == c] for c in range(len(CLASSES))]
    for i in range(num):
        c = i % len(CLASSES)  # balanced: class c gets ceil/floor(num / 10)
        rng = np.random.default_rng([seed, _CLS_STREAM[name], i])
        src = int(rng.choice(by_class[c]))
        crop = render_classification_crop(rng, src, pool=pool,
                                          img_size=img_size, difficulty=d)
        _save_png(osp.join(split_dir, CLASSES[c], f'{i + 1:06d}.png'), crop)
    return split_dir


def generate_toy_digits(out_dir: str,
                        *,
                        num_train: int = 2000,
                        num_val: int = 500,
                        num_test: int = 500,
                        img_size: int = 128,
                        seed: int = 0,
                        min_digits: int = 1,
                        max_digits: int = 4,
                        num_cls_train: int = 3000,
                        num_cls_val: int = 1000,
                        num_cls_test: int = 1000,
                        cls_img_size: int = 32,
                        val_fraction: float = 0.125,
                        test_fraction: float = 0.125,
                        difficulty: DifficultyLike = None,
                        det: bool = True,
                        cls: bool = True,
                        force: bool = False,
                        verbose: bool = False) -> Dict[str, Any]:
    """Write the toy detection and classification sets (idempotent).

    When ``out_dir/meta.json`` records the same parameters and generator
    version and the files are there, nothing is written and ``skipped`` is
    True. Otherwise the ``det/`` and ``cls/`` folders under ``out_dir`` are
    replaced (nothing else in ``out_dir`` is touched) and ``meta.json`` is
    written last, so an interrupted run is redone.

    Args:
        out_dir (str): Output root.
        num_train (int): Training detection images. Defaults to 2000.
        num_val (int): Validation detection images. Defaults to 500.
        num_test (int): Test detection images. Defaults to 500.
        img_size (int): Side of detection images. Defaults to 128.
        seed (int): Seed of everything. Defaults to 0.
        min_digits (int): Fewest digits per image. Defaults to 1.
        max_digits (int): Most digits per image. Defaults to 4.
        num_cls_train (int): Training crops, balanced over the classes.
            Defaults to 3000.
        num_cls_val (int): Validation crops. Defaults to 1000.
        num_cls_test (int): Test crops. Defaults to 1000.
        cls_img_size (int): Side of the crops. Defaults to 32.
        val_fraction (float): Share of each class's glyphs held out for val.
            Defaults to 0.125.
        test_fraction (float): Share of each class's glyphs held out for
            test. Defaults to 0.125.
        difficulty (str | Mapping | ToyDigitsDifficulty, optional): See
            :func:`resolve_difficulty`. Defaults to None ('hard').
        det (bool): Write the detection set. Defaults to True.
        cls (bool): Write the classification set. Defaults to True.
        force (bool): Regenerate even if up to date. Defaults to False.
        verbose (bool): Print progress. Defaults to False.

    Returns:
        dict: ``root``, ``meta``, ``skipped`` (bool), ``seconds``, and when
        written ``det_root``, ``{split}_ann`` and ``{split}_img_dir``
        (detection) and ``cls_root`` and ``cls_{split}`` (classification)
        for ``split`` in ``train``, ``val``, ``test``.
    """
    d = resolve_difficulty(difficulty)
    for name, value in (('num_train', num_train), ('num_val', num_val),
                        ('num_test', num_test),
                        ('num_cls_train', num_cls_train),
                        ('num_cls_val', num_cls_val),
                        ('num_cls_test', num_cls_test)):
        if int(value) != value or value < 0:
            raise ValueError(f'{name}={value}: must be an integer >= 0')
    if not (det or cls):
        raise ValueError('det=False and cls=False: nothing to generate; '
                         'enable at least one')
    if det:
        check_sizes(img_size, min_digits, max_digits, d)
    if cls and cls_img_size < 16:
        raise ValueError(f'cls_img_size={cls_img_size} is too small; use at'
                         f' least 16')
    pools = dict(zip(SPLITS, split_source_indices(seed, val_fraction,
                                                  test_fraction)))
    if (num_test or num_cls_test) and not len(pools['test']):
        raise ValueError('test_fraction=0 leaves no glyphs for the test '
                         'split; set num_test=0 and num_cls_test=0, or '
                         'test_fraction > 0')

    params = dict(
        generator_version=GENERATOR_VERSION, seed=seed,
        val_fraction=val_fraction, test_fraction=test_fraction,
        difficulty=d.to_dict(), det=bool(det), cls=bool(cls))
    det_nums = dict(train=num_train, val=num_val, test=num_test)
    cls_nums = dict(train=num_cls_train, val=num_cls_val, test=num_cls_test)
    if det:
        params.update(num_train=num_train, num_val=num_val,
                      num_test=num_test, img_size=img_size,
                      min_digits=min_digits, max_digits=max_digits)
    if cls:
        params.update(num_cls_train=num_cls_train, num_cls_val=num_cls_val,
                      num_cls_test=num_cls_test, cls_img_size=cls_img_size)
    det_root, cls_root = osp.join(out_dir, 'det'), osp.join(out_dir, 'cls')
    paths: Dict[str, Any] = dict(root=out_dir,
                                 meta=osp.join(out_dir, 'meta.json'))
    if det:
        paths.update(det_root=det_root)
        for name in SPLITS:
            paths[f'{name}_ann'] = osp.join(det_root, 'annotations',
                                            f'instances_{name}.json')
            paths[f'{name}_img_dir'] = osp.join(det_root, 'images', name)
    if cls:
        paths.update(cls_root=cls_root)
        for name in SPLITS:
            paths[f'cls_{name}'] = osp.join(cls_root, name)

    if not force and _up_to_date(paths, params):
        if verbose:
            print(f'toy digits in {out_dir} are up to date '
                  f'(same parameters, generator {GENERATOR_VERSION}); '
                  f'skipping (use force to regenerate)')
        return dict(paths, skipped=True, seconds=0.0)

    start = time.perf_counter()
    if osp.exists(paths['meta']):
        os.remove(paths['meta'])
    for sub in (det_root, cls_root):
        if osp.isdir(sub):
            shutil.rmtree(sub)
    os.makedirs(out_dir, exist_ok=True)
    if det:
        for name in SPLITS:
            if verbose:
                print(f'rendering {det_nums[name]} {name} detection '
                      f'images ...')
            _write_det_split(det_root, name, det_nums[name], pools[name],
                             seed, img_size, min_digits, max_digits, d)
    if cls:
        for name in SPLITS:
            if verbose:
                print(f'rendering {cls_nums[name]} {name} classification '
                      f'crops ...')
            _write_cls_split(cls_root, name, cls_nums[name], pools[name],
                             seed, cls_img_size, d)
    with open(paths['meta'], 'w') as f:
        json.dump(params, f, indent=2, sort_keys=True)
    seconds = time.perf_counter() - start
    if verbose:
        print(f'wrote toy digits to {out_dir} in {seconds:.1f} s')
    return dict(paths, skipped=False, seconds=seconds)


def _up_to_date(paths: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    try:
        with open(paths['meta']) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    if meta != json.loads(json.dumps(params)):
        return False
    if params['det']:
        for key in SPLITS:
            if not osp.isfile(paths[f'{key}_ann']):
                return False
            num = params[f'num_{key}']
            if len(os.listdir(paths[f'{key}_img_dir'])) != num:
                return False
    if params['cls']:
        for key in SPLITS:
            root, num = paths[f'cls_{key}'], params[f'num_cls_{key}']
            if not osp.isdir(root):
                return False
            count = sum(len(os.listdir(osp.join(root, c))) for c in CLASSES
                        if osp.isdir(osp.join(root, c)))
            if count != num:
                return False
    return True
