# Copyright (c) OpenMMLab. All rights reserved.
"""Toy handwritten-digit detection and classification data, made on the fly.

The glyphs are scikit-learn's bundled handwritten digits
(:func:`sklearn.datasets.load_digits`: 1797 images of 8x8 pixels with values
0..16, no download). Each glyph is upscaled with bicubic interpolation to a
random size, aspect, slant and stroke weight, tinted with a colour of
controlled contrast against its local background and pasted onto a textured,
cluttered canvas together with distractor strokes (lines, arcs, rings, blobs)
and unannotated digit fragments of the same ink, then partly occluded,
blurred and noised. See :class:`ToyDigitsDifficulty` for every knob and
:data:`DIFFICULTY_PRESETS` for the presets.

Hold-out: scikit-learn's digits carry no writer ids, so samples (not writers)
are held out. The 1797 sample indices are split per class into disjoint
train, val and test pools (``val_fraction`` and ``test_fraction`` of each
class, by the seed); each split's images and crops use only its own pool's
glyphs, for the annotated digits and for the unannotated fragments alike.
Weights are chosen on val and results reported on test. Every annotation
records its glyph in ``source_index``.

Layout written by :func:`generate_toy_digits`::

    <out_dir>/
        meta.json                           parameters + generator version
        det/annotations/instances_train.json    COCO detection annotations
        det/annotations/instances_val.json
        det/annotations/instances_test.json
        det/images/{train,val,test}/000001.png  RGB, img_size x img_size
        cls/{train,val,test}/<digit>/000001.png single-digit RGB crops
                                            (mmpretrain ``CustomDataset``)

For mmdet use ``data_root='<out_dir>/det/'``,
``ann_file='annotations/instances_train.json'``,
``data_prefix=dict(img='images/train/')`` and
``metainfo=dict(classes=CLASSES)``; for mmpretrain
``CustomDataset(data_root='<out_dir>/cls', data_prefix='train')``, whose
class folders ``'0'..'9'`` sort in digit order.

COCO details: category ids 1..10 are named ``'0'..'9'`` (id = digit + 1);
each image records its unannotated fragments' glyphs in
``fragment_source_indices``;
``bbox`` is ``[x, y, w, h]`` in integer pixels, the tight box of the digit's
*visible* ink (glyph pixels with alpha >= ``ink_threshold`` that no later
layer covers), so it always lies inside the image; ``area`` is ``w * h``;
``iscrowd`` is 0; ``source_index`` is the glyph's index in ``load_digits()``.

Determinism: the pool split uses ``default_rng([seed, 0])``; detection image
``i`` uses ``default_rng([seed, k, i])`` with ``k`` = 1, 2, 5 for train, val
and test, and crop ``i`` uses ``k`` = 3, 4, 6, so changing one split's size
never changes another split or earlier images. The held-out share
``val_fraction + test_fraction`` is taken first and then divided, so the
train pool (and every train image) depends only on that sum: the 1.0 data
(0.25 held out for val alone) has the same train split as today's default.
"""
from __future__ import annotations

import json
import math
import os
import os.path as osp
import shutil
import time
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

#: Bump whenever the rendered pixels or annotations change for the same
#: parameters; :func:`generate_toy_digits` regenerates stale outputs.
GENERATOR_VERSION = '1.1'
#: Class names; the COCO category id of class ``c`` is ``c + 1``.
CLASSES = tuple(str(i) for i in range(10))
#: COCO ``categories`` list shared by both splits.
CATEGORIES = [dict(id=i + 1, name=c, supercategory='digit')
              for i, c in enumerate(CLASSES)]

Range = Tuple[float, float]
DifficultyLike = Union[None, str, 'ToyDigitsDifficulty', Mapping[str, Any]]


@dataclass(frozen=True)
class ToyDigitsDifficulty:
    """Every knob of the rendering; ``(lo, hi)`` pairs are uniform ranges.

    Intensities are fractions of the full 0..255 range.

    Args:
        digit_size (tuple[float, float]): Side in pixels of the upscaled
            8x8 glyph square in detection images (the ink box is a little
            smaller). Defaults to (14, 36).
        cls_digit_scale (tuple[float, float]): Same, as a fraction of the
            classification crop size. Defaults to (0.55, 0.9).
        aspect (tuple[float, float]): Width / height scale of a glyph.
            Defaults to (0.8, 1.2).
        rotation (float): Maximum absolute rotation in degrees.
            Defaults to 12.
        stroke_threshold (tuple[float, float]): Where the upscaled glyph
            (normalised to a peak of 1) starts to become ink; the alpha ramps
            from 0 there to 1 over the next 0.25. Higher values thin the
            strokes. Defaults to (0.35, 0.6).
        ink_threshold (float): Alpha (after the ramp) below which a pixel is
            cut to 0; the rest is the digit's ink, so the box never counts
            invisible pixels. Defaults to 0.2.
        contrast (tuple[float, float]): Difference between the ink colour and
            the mean of the background under it (both polarities occur).
            Defaults to (0.18, 0.5).
        color_jitter (float): Std of the zero-mean per-channel tint added to
            ink colours (hue without changing brightness). Defaults to 0.12.
        background (str): ``'textured'`` or ``'black'`` (plain black canvas,
            used to check boxes). Defaults to 'textured'.
        bg_texture (float): Amplitude of low-frequency background blotches.
            Defaults to 0.12.
        bg_grain (float): Amplitude of mid-frequency paper grain.
            Defaults to 0.05.
        bg_lines (tuple[int, int]): Number of faint thin background lines.
            Defaults to (2, 8).
        num_distractors (tuple[int, int]): Distractor strokes per detection
            image (lines, arcs, rings, zigzags, blobs) with the digits' ink
            contrast and stroke width. Defaults to (2, 6).
        num_fragments (tuple[int, int]): Unannotated partial digits per
            detection image. Defaults to (0, 2).
        fragment_fraction (tuple[float, float]): Share of a fragment's glyph
            (along one axis) that is kept. Defaults to (0.3, 0.55).
        cls_num_distractors (tuple[int, int]): Distractor strokes per crop.
            Defaults to (0, 2).
        cls_neighbor_prob (float): Probability that a crop shows part of a
            neighbouring digit cut by its border. Defaults to 0.4.
        occlusion_prob (float): Probability per digit of an opaque occluder
            (a patch of background-like colour) drawn over it.
            Defaults to 0.25.
        occlusion_area (tuple[float, float]): Occluder area as a fraction of
            the digit box. Defaults to (0.08, 0.25).
        max_overlap (float): Maximum IoU between two digit boxes.
            Defaults to 0.15.
        min_visible (float): Minimum share of a digit's ink that later layers
            (digits, occluders) may leave visible. Defaults to 0.7.
        blur_prob (float): Probability of a Gaussian blur of the image.
            Defaults to 0.5.
        blur_radius (tuple[float, float]): Blur radius in pixels.
            Defaults to (0.3, 1.0).
        noise_std (tuple[float, float]): Std of the additive Gaussian pixel
            noise. Defaults to (0.01, 0.05).
    """

    digit_size: Range = (14, 36)
    cls_digit_scale: Range = (0.55, 0.9)
    aspect: Range = (0.8, 1.2)
    rotation: float = 12.0
    stroke_threshold: Range = (0.35, 0.6)
    ink_threshold: float = 0.2
    contrast: Range = (0.18, 0.5)
    color_jitter: float = 0.12
    background: str = 'textured'
    bg_texture: float = 0.12
    bg_grain: float = 0.05
    bg_lines: Tuple[int, int] = (2, 8)
    num_distractors: Tuple[int, int] = (2, 6)
    num_fragments: Tuple[int, int] = (0, 2)
    fragment_fraction: Range = (0.3, 0.55)
    cls_num_distractors: Tuple[int, int] = (0, 2)
    cls_neighbor_prob: float = 0.4
    occlusion_prob: float = 0.25
    occlusion_area: Range = (0.08, 0.25)
    max_overlap: float = 0.15
    min_visible: float = 0.7
    blur_prob: float = 0.5
    blur_radius: Range = (0.3, 1.0)
    noise_std: Range = (0.01, 0.05)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):  # from JSON
                object.__setattr__(self, f.name, tuple(value))
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field and the fix."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                if len(value) != 2 or value[0] > value[1] or value[0] < 0:
                    raise ValueError(
                        f'difficulty {f.name}={value!r}: expected a pair '
                        f'(lo, hi) with 0 <= lo <= hi')
        for name in ('occlusion_prob', 'blur_prob', 'cls_neighbor_prob',
                     'max_overlap', 'min_visible', 'color_jitter',
                     'bg_texture', 'bg_grain'):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f'difficulty {name}={getattr(self, name)}: '
                                 f'must lie in [0, 1]')
        if not 0 < self.ink_threshold < 1:
            raise ValueError(f'difficulty ink_threshold={self.ink_threshold}:'
                             f' must lie in (0, 1), e.g. 0.25')
        if self.digit_size[0] < 6:
            raise ValueError(f'difficulty digit_size={self.digit_size}: the '
                             f'smallest digit must be at least 6 px')
        if self.cls_digit_scale[1] > 1 or self.cls_digit_scale[0] <= 0:
            raise ValueError(f'difficulty cls_digit_scale='
                             f'{self.cls_digit_scale}: must lie in (0, 1]')
        if self.contrast[1] > 1 or self.contrast[0] <= 0:
            raise ValueError(f'difficulty contrast={self.contrast}: must lie '
                             f'in (0, 1]; lower values are harder')
        if self.stroke_threshold[1] >= 1:
            raise ValueError(f'difficulty stroke_threshold='
                             f'{self.stroke_threshold}: must be < 1')
        for name in ('aspect', 'fragment_fraction'):
            if getattr(self, name)[0] <= 0:
                raise ValueError(f'difficulty {name}={getattr(self, name)}:'
                                 f' values must be > 0')
        if self.fragment_fraction[1] >= 1:
            raise ValueError(f'difficulty fragment_fraction='
                             f'{self.fragment_fraction}: must be < 1 (a '
                             f'whole digit is not a fragment)')
        if self.background not in ('textured', 'black'):
            raise ValueError(f'difficulty background={self.background!r}: '
                             f"use 'textured' or 'black'")

    def to_dict(self) -> Dict[str, Any]:
        """JSON-friendly copy (pairs become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in asdict(self).items()}


#: ``'hard'`` (the default) makes capacity matter: small, low-contrast
#: digits of both polarities in clutter that looks like ink. ``'medium'``
#: keeps the clutter but makes the digits larger and clearer, so small
#: classifiers leave chance within the first epoch (the online-distillation
#: comparisons, where both networks start from scratch). ``'easy'``
#: mirrors the first calibration (18-44 px digits on noisy canvases, which a
#: small detector already solves). ``'clean'`` is white ink on black with no
#: augmentation, for checking boxes.
DIFFICULTY_PRESETS: Dict[str, ToyDigitsDifficulty] = {
    'hard': ToyDigitsDifficulty(),
    'medium': ToyDigitsDifficulty(
        digit_size=(18, 40), cls_digit_scale=(0.7, 0.9),
        stroke_threshold=(0.35, 0.5), contrast=(0.3, 0.7),
        cls_num_distractors=(0, 1), cls_neighbor_prob=0.2,
        occlusion_prob=0.1, blur_prob=0.3),
    'easy': ToyDigitsDifficulty(
        digit_size=(18, 44), cls_digit_scale=(0.7, 0.9), rotation=0.0,
        stroke_threshold=(0.35, 0.35), contrast=(0.5, 0.9), color_jitter=0.1,
        bg_texture=0.1, bg_grain=0.0, bg_lines=(0, 0),
        num_distractors=(0, 0), num_fragments=(0, 0),
        cls_num_distractors=(0, 0), cls_neighbor_prob=0.0,
        occlusion_prob=0.0, max_overlap=0.1, blur_prob=0.0,
        noise_std=(0.02, 0.04)),
    'clean': ToyDigitsDifficulty(
        digit_size=(12, 36), cls_digit_scale=(0.7, 0.9), aspect=(1.0, 1.0),
        rotation=0.0, stroke_threshold=(0.35, 0.35), contrast=(1.0, 1.0),
        color_jitter=0.0, background='black', bg_texture=0.0,
        bg_grain=0.0, bg_lines=(0, 0), num_distractors=(0, 0),
        num_fragments=(0, 0), cls_num_distractors=(0, 0),
        cls_neighbor_prob=0.0, occlusion_prob=0.0, max_overlap=0.0,
        blur_prob=0.0, noise_std=(0.0, 0.0)),
}


def resolve_difficulty(difficulty: DifficultyLike = None
                       ) -> ToyDigitsDifficulty:
    """Turn a preset name, a mapping of overrides or ``None`` into settings.

    Args:
        difficulty (str | Mapping | ToyDigitsDifficulty, optional): ``None``
            for the ``'hard'`` default, a key of :data:`DIFFICULTY_PRESETS`,
            or a mapping of field overrides; the mapping may name its base
            preset under ``'preset'``. Defaults to None.

    Returns:
        ToyDigitsDifficulty: The validated settings.
    """
    if difficulty is None:
        return DIFFICULTY_PRESETS['hard']
    if isinstance(difficulty, ToyDigitsDifficulty):
        return difficulty
    if isinstance(difficulty, str):
        if difficulty not in DIFFICULTY_PRESETS:
            raise ValueError(f'unknown difficulty preset {difficulty!r}; '
                             f'choose one of {sorted(DIFFICULTY_PRESETS)}')
        return DIFFICULTY_PRESETS[difficulty]
    if isinstance(difficulty, Mapping):
        overrides = dict(difficulty)
        base = resolve_difficulty(overrides.pop('preset', 'hard'))
        known = {f.name for f in fields(ToyDigitsDifficulty)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f'unknown difficulty keys {unknown}; valid keys'
                             f' are {sorted(known)} (and "preset")')
        return replace(base, **overrides)
    raise ValueError(f'difficulty must be None, a preset name, a mapping or '
                     f'a ToyDigitsDifficulty, got {type(difficulty)}')


@lru_cache(maxsize=1)
def load_digit_glyphs() -> Tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's digits once.

    Returns:
        tuple[np.ndarray, np.ndarray]: Glyphs of shape (1797, 8, 8) as
        float32 in [0, 1] and their labels (1797,) as int64.
    """
    from sklearn.datasets import load_digits
    data = load_digits()
    glyphs = (data.images / 16.0).astype(np.float32)
    glyphs.setflags(write=False)
    labels = data.target.astype(np.int64)
    labels.setflags(write=False)
    return glyphs, labels


def split_source_indices(seed: int = 0,
                         val_fraction: float = 0.125,
                         test_fraction: float = 0.125
                         ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the sample indices per class into disjoint train/val/test pools.

    Per class, ``round(n * (val_fraction + test_fraction))`` shuffled samples
    are held out, ``round(n * test_fraction)`` of them for test and the rest
    for val, so the train pool depends only on the held-out sum.

    Args:
        seed (int): Seed of the split. Defaults to 0.
        val_fraction (float): Share of each class that goes to val.
            Defaults to 0.125.
        test_fraction (float): Share of each class that goes to test; 0
            leaves the test pool empty. Defaults to 0.125.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: Sorted train, val and test
        indices into :func:`load_digit_glyphs`.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction={val_fraction}: must lie in (0, 1),'
                         f' e.g. 0.125')
    if not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(f'test_fraction={test_fraction}: must lie in [0, 1)'
                         f' with val_fraction + test_fraction < 1, e.g. '
                         f'0.125')
    _, labels = load_digit_glyphs()
    rng = np.random.default_rng([seed, 0])
    train, val, test = [], [], []
    for c in range(len(CLASSES)):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * test_fraction))
        if test_fraction > 0:
            n_test = max(1, n_test)
        n_held = max(n_test + 1,
                     int(round(len(idx) * (val_fraction + test_fraction))))
        if n_held >= len(idx):
            raise ValueError(f'class {CLASSES[c]} has {len(idx)} glyphs, too '
                             f'few to hold out {n_held}; lower val_fraction '
                             f'or test_fraction')
        val.append(idx[:n_held - n_test])
        test.append(idx[n_held - n_test:n_held])
        train.append(idx[n_held:])
    return tuple(np.sort(np.concatenate(p)) for p in (train, val, test))


# --------------------------------------------------------------- rendering
def _bbox(mask: np.ndarray) -> Optional[Tuple[int, int, int, int]]:
    """Tight ``(x0, y0, x1, y1)`` (exclusive ends) of a boolean mask."""
    rows = np.flatnonzero(mask.any(1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _crop_to_ink(alpha: np.ndarray) -> np.ndarray:
    box = _bbox(alpha > 0)
    if box is None:
        return alpha[:0, :0]
    x0, y0, x1, y1 = box
    return alpha[y0:y1, x0:x1]


_STROKE_RAMP = 0.25


def _render_glyph(rng: np.random.Generator, glyph: np.ndarray, size: float,
                  d: ToyDigitsDifficulty) -> np.ndarray:
    """Upscale, slant and threshold one 8x8 glyph.

    Returns:
        np.ndarray: float32 alpha cropped to its ink; 0 outside the ink and
        at least ``d.ink_threshold`` inside.
    """
    h = max(4, int(round(size)))
    w = max(4, int(round(size * rng.uniform(*d.aspect))))
    img = Image.fromarray(np.ascontiguousarray(glyph, np.float32))
    img = img.resize((w, h), Image.BICUBIC)
    if d.rotation > 0:
        img = img.rotate(rng.uniform(-d.rotation, d.rotation),
                         resample=Image.BILINEAR, expand=True)
    alpha = np.clip(np.asarray(img, dtype=np.float32), 0, 1)
    alpha /= max(float(alpha.max()), 1e-6)
    start = rng.uniform(*d.stroke_threshold)
    alpha = np.clip((alpha - start) / _STROKE_RAMP, 0, 1)
    alpha[alpha < d.ink_threshold] = 0
    return _crop_to_ink(alpha)


def _stroke_alpha(rng: np.random.Generator, size: float,
                  d: ToyDigitsDifficulty) -> np.ndarray:
    """A non-digit stroke about ``size`` px big with a digit-like width."""
    ss = 2  # supersampling for anti-aliasing
    side = max(6, int(round(size * 1.2)))
    canvas = Image.new('L', (side * ss, side * ss), 0)
    draw = ImageDraw.Draw(canvas)
    width = max(ss, int(round(size * ss * rng.uniform(0.08, 0.18))))
    s = side * ss
    kind = rng.integers(6)

    def pt() -> Tuple[float, float]:
        return (float(rng.uniform(0.1, 0.9) * s),
                float(rng.uniform(0.1, 0.9) * s))

    if kind == 0:  # straight line
        draw.line([pt(), pt()], fill=255, width=width)
    elif kind == 1:  # zigzag / polyline
        draw.line([pt() for _ in range(rng.integers(3, 5))], fill=255,
                  width=width, joint='curve')
    elif kind in (2, 3):  # open arc
        x0, y0 = rng.uniform(0, 0.3, 2) * s
        x1, y1 = rng.uniform(0.6, 1.0, 2) * s
        start = float(rng.uniform(0, 360))
        extent = float(rng.uniform(60, 200) if kind == 2 else
                       rng.uniform(200, 300))
        draw.arc([x0, y0, x1, y1], start, start + extent, fill=255,
                 width=width)
    elif kind == 4:  # filled blob
        r = rng.uniform(0.12, 0.3) * s
        cx, cy = pt()
        draw.ellipse([cx - r, cy - r * rng.uniform(0.5, 1.5), cx + r,
                      cy + r * rng.uniform(0.5, 1.5)], fill=255)
    else:  # cross / tick
        a, b, c = pt(), pt(), pt()
        draw.line([a, b], fill=255, width=width)
        draw.line([c, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)], fill=255,
                  width=width)
    alpha = np.asarray(canvas.resize((side, side), Image.BILINEAR),
                       dtype=np.float32) / 255.0
    alpha[alpha < d.ink_threshold] = 0
    return _crop_to_ink(alpha)


def _fragment_alpha(rng: np.random.Generator, glyph: np.ndarray,
                    size: float, d: ToyDigitsDifficulty) -> np.ndarray:
    """Part of a digit: one side of a rendered glyph cut away."""
    alpha = _render_glyph(rng, glyph, size, d).copy()
    if alpha.size == 0:
        return alpha
    keep = rng.uniform(*d.fragment_fraction)
    side = rng.integers(4)
    h, w = alpha.shape
    if side == 0:
        alpha[int(math.ceil(h * keep)):] = 0
    elif side == 1:
        alpha[:h - int(math.ceil(h * keep))] = 0
    elif side == 2:
        alpha[:, int(math.ceil(w * keep)):] = 0
    else:
        alpha[:, :w - int(math.ceil(w * keep))] = 0
    return _crop_to_ink(alpha)


def _resize_field(field: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bicubic resize of an (k, k, C) float field to (h, w, C)."""
    return np.stack([
        np.asarray(
            Image.fromarray(np.ascontiguousarray(field[..., c])).resize(
                (w, h), Image.BICUBIC)) for c in range(field.shape[-1])
    ], -1)


def _render_background(rng: np.random.Generator, h: int, w: int,
                       d: ToyDigitsDifficulty) -> np.ndarray:
    """(h, w, 3) float32 canvas in [0, 1]."""
    if d.background == 'black':
        return np.zeros((h, w, 3), np.float32)
    c0 = rng.uniform(0.1, 0.9, 3).astype(np.float32)
    c1 = np.clip(c0 + rng.normal(0, 0.15, 3), 0, 1).astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    tx = (np.cos(theta) * np.arange(w, dtype=np.float32) / w)[None, :]
    ty = (np.sin(theta) * np.arange(h, dtype=np.float32) / h)[:, None]
    t = tx + ty
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    bg = c0 + (c1 - c0) * t[..., None]
    if d.bg_texture > 0:
        k = int(rng.integers(3, 9))
        field = (0.7 * rng.normal(0, 1, (k, k, 1)) +
                 0.3 * rng.normal(0, 1, (k, k, 3))).astype(np.float32)
        bg += np.float32(d.bg_texture) * _resize_field(field, h, w)
    if d.bg_grain > 0:
        k = max(4, h // 4)
        field = (0.8 * rng.normal(0, 1, (k, k, 1)) +
                 0.2 * rng.normal(0, 1, (k, k, 3))).astype(np.float32)
        bg += np.float32(d.bg_grain) * _resize_field(field, h, w)
    np.clip(bg, 0, 1, out=bg)
    n_lines = int(rng.integers(d.bg_lines[0], d.bg_lines[1] + 1))
    if n_lines:
        layer = Image.new('L', (w, h), 0)
        draw = ImageDraw.Draw(layer)
        for _ in range(n_lines):
            xy = rng.uniform(-0.2, 1.2, 4) * [w, h, w, h]
            draw.line(list(map(float, xy)), fill=int(rng.integers(80, 256)),
                      width=int(rng.integers(1, 3)))
        a = np.asarray(layer, dtype=np.float32)[..., None] / 255.0
        shade = rng.uniform(0.04, 0.12) * rng.choice([-1.0, 1.0])
        tint = np.clip(bg.mean((0, 1)) + shade + rng.normal(0, 0.05, 3), 0,
                       1).astype(np.float32)
        bg = bg * (1 - a) + tint * a
    return bg.astype(np.float32)


def _ink_color(rng: np.random.Generator, under: np.ndarray,
               d: ToyDigitsDifficulty) -> np.ndarray:
    """An ink colour with ``d.contrast`` against the mean colour ``under``."""
    lum = float(under.mean())
    c = rng.uniform(*d.contrast)
    up, down = 1.0 - lum, lum
    if up >= c and down >= c:
        sign = rng.choice([-1.0, 1.0])
    else:
        sign = 1.0 if up >= down else -1.0
    tint = rng.normal(0, d.color_jitter, 3) if d.color_jitter > 0 else 0
    if d.color_jitter > 0:
        tint = tint - tint.mean()
    return np.clip(under + sign * c + tint, 0, 1).astype(np.float32)


def _paste(canvas: np.ndarray, alpha: np.ndarray, color: np.ndarray, x: int,
           y: int) -> Tuple[int, int, int, int]:
    """Alpha-blend ``color`` at (x, y), clipped to the canvas.

    Returns:
        tuple: The clipped region ``(x0, y0, x1, y1)`` on the canvas.
    """
    H, W = canvas.shape[:2]
    h, w = alpha.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x0 >= x1 or y0 >= y1:
        return x0, y0, x0, y0
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x, None]
    region = canvas[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1] = region * (1 - a) + color * a
    return x0, y0, x1, y1


def _iou(a: Sequence[int], b: Sequence[int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) *
             (b[3] - b[1]) - inter)
    return inter / union if union > 0 else 0.0


def _add_clutter(rng: np.random.Generator, canvas: np.ndarray,
                 n_strokes: int, n_fragments: int, sizes: Range,
                 pool: np.ndarray, d: ToyDigitsDifficulty) -> List[int]:
    """Paste distractor strokes and digit fragments (may cross borders)."""
    glyphs, _ = load_digit_glyphs()
    H, W = canvas.shape[:2]
    used = []
    kinds = [0] * n_strokes + [1] * n_fragments
    for kind in rng.permutation(kinds) if kinds else []:
        size = rng.uniform(*sizes)
        if kind == 0:
            alpha = _stroke_alpha(rng, size, d)
        else:
            src = int(rng.choice(pool))
            used.append(src)
            alpha = _fragment_alpha(rng, glyphs[src], size, d)
        if alpha.size == 0:
            continue
        h, w = alpha.shape
        x = int(rng.integers(-w // 3, W - 2 * w // 3 + 1))
        y = int(rng.integers(-h // 3, H - 2 * h // 3 + 1))
        cx0, cy0 = min(max(x, 0), W - 1), min(max(y, 0), H - 1)
        under = canvas[cy0:max(cy0 + 1, min(y + h, H)),
                       cx0:max(cx0 + 1, min(x + w, W))].mean((0, 1))
        _paste(canvas, alpha, _ink_color(rng, under, d), x, y)
    return used


def _finish(rng: np.random.Generator, canvas: np.ndarray,
            d: ToyDigitsDifficulty) -> np.ndarray:
    """Blur, noise and quantise to uint8 RGB."""
    img = np.clip(canvas * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if d.blur_prob > 0 and rng.random() < d.blur_prob:
        radius = float(rng.uniform(*d.blur_radius))
        img = np.asarray(
            Image.fromarray(img).filter(ImageFilter.GaussianBlur(radius)))
    std = rng.uniform(*d.noise_std)
    if std > 0:
        noisy = img.astype(np.float32) + rng.normal(
            0, std * 255.0, img.shape).astype(np.float32)
        img = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def _occluder(rng: np.random.Generator, box: Sequence[int],
              canvas_shape: Tuple[int, int],
              d: ToyDigitsDifficulty) -> Tuple[np.ndarray, int, int]:
    """Opaque ellipse or rectangle covering part of ``box``."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    area = rng.uniform(*d.occlusion_area) * bw * bh
    ar = rng.uniform(0.5, 2.0)
    ow = max(2, int(round(math.sqrt(area * ar))))
    oh = max(2, int(round(math.sqrt(area / ar))))
    layer = Image.new('L', (ow, oh), 0)
    draw = ImageDraw.Draw(layer)
    if rng.random() < 0.5:
        draw.ellipse([0, 0, ow - 1, oh - 1], fill=255)
    else:
        draw.rectangle([0, 0, ow - 1, oh - 1], fill=255)
    alpha = np.asarray(layer, dtype=np.float32) / 255.0
    # centre anywhere on the digit box: edges get clipped, the middle gapped
    cx = rng.uniform(box[0], box[2])
    cy = rng.uniform(box[1], box[3])
    x, y = int(round(cx - ow / 2)), int(round(cy - oh / 2))
    return alpha, x, y


def render_detection_image(
        rng: np.random.Generator,
        *,
        pool: Optional[Sequence[int]] = None,
        source_indices: Optional[Sequence[int]] = None,
        img_size: int = 128,
        min_digits: int = 1,
        max_digits: int = 4,
        difficulty: DifficultyLike = None,
        return_masks: bool = False,
        info: Optional[dict] = None) -> Tuple[np.ndarray, List[dict]]:
    """Render one detection image and its digit instances.

    Layers, bottom to top: textured background, distractor strokes and
    unannotated digit fragments, the digits (boxes IoU <= ``max_overlap``),
    occluders; then blur and noise. A digit's box is the tight box of its
    visible ink, i.e. its glyph pixels that no later digit or occluder
    covers with alpha >= 0.5.

    Args:
        rng (np.random.Generator): Source of randomness.
        pool (Sequence[int], optional): Glyph indices to draw digits and
            fragments from. Defaults to all 1797.
        source_indices (Sequence[int], optional): Exact glyphs to place,
            overriding ``pool``/``min_digits``/``max_digits`` for the digits
            (fragments still come from ``pool``). Defaults to None.
        img_size (int): Side of the square image. Defaults to 128.
        min_digits (int): Fewest digits. Defaults to 1.
        max_digits (int): Most digits. Defaults to 4.
        difficulty (str | Mapping | ToyDigitsDifficulty, optional): See
            :func:`resolve_difficulty`. Defaults to None ('hard').
        return_masks (bool): Add each instance's visible-ink mask
            (bool, img_size x img_size) under ``'mask'``. Defaults to False.
        info (dict, optional): If given, receives
            ``fragment_source_indices``, the glyphs of the unannotated
            fragments. Defaults to None.

    Returns:
        tuple[np.ndarray, list[dict]]: The (img_size, img_size, 3) uint8 RGB
        image and one dict per digit with ``bbox`` ``[x, y, w, h]``,
        ``label`` (0..9) and ``source_index``.
    """
    d = resolve_difficulty(difficulty)
    _check_sizes(img_size, min_digits, max_digits, d)
    glyphs, labels = load_digit_glyphs()
    pool = (np.arange(len(glyphs)) if pool is None else np.asarray(pool))
    if pool.size == 0:
        raise ValueError('pool is empty: pass glyph indices to draw from')
    H = W = int(img_size)

    for _attempt in range(50):
        canvas = _render_background(rng, H, W, d)
        n_strokes = int(rng.integers(d.num_distractors[0],
                                     d.num_distractors[1] + 1))
        n_frag = int(rng.integers(d.num_fragments[0],
                                  d.num_fragments[1] + 1))
        fragments = _add_clutter(rng, canvas, n_strokes, n_frag,
                                 d.digit_size, pool, d)
        if source_indices is not None:
            wanted = [int(i) for i in source_indices]
        else:
            n = int(rng.integers(min_digits, max_digits + 1))
            wanted = [int(i) for i in rng.choice(pool, n)]
        need = len(wanted) if source_indices is not None else min_digits
        instances: List[dict] = []
        for src in wanted:
            inst = _place_digit(rng, canvas, glyphs[src], instances, d)
            if inst is not None:
                inst.update(label=int(labels[src]), source_index=src)
                instances.append(inst)
        if len(instances) >= need:
            break
    else:
        raise RuntimeError(
            f'could not place {need} digits of {d.digit_size} px on a '
            f'{img_size} px image without exceeding max_overlap='
            f'{d.max_overlap}; use fewer digits, smaller digits or a larger'
            f' img_size')

    if d.occlusion_prob > 0:
        for inst in list(instances):
            if rng.random() >= d.occlusion_prob:
                continue
            for _ in range(5):
                alpha, x, y = _occluder(rng, inst['box'], (H, W), d)
                if _try_cover(instances, alpha, x, y, H, W, d):
                    # half a random background pixel, half the one at the
                    # occluder's corner: it looks like a patch of canvas
                    corner = canvas[min(max(y, 0), H - 1),
                                    min(max(x, 0), W - 1)]
                    pick = canvas[int(rng.integers(H)),
                                  int(rng.integers(W))]
                    _paste(canvas, alpha, 0.5 * (pick + corner), x, y)
                    break

    image = _finish(rng, canvas, d)
    if info is not None:
        info['fragment_source_indices'] = fragments
    out = []
    for inst in instances:
        x0, y0, x1, y1 = _bbox(inst['visible'])
        item = dict(bbox=[x0, y0, x1 - x0, y1 - y0], label=inst['label'],
                    source_index=inst['source_index'])
        if return_masks:
            item['mask'] = inst['visible']
        out.append(item)
    return image, out


def _try_cover(instances: List[dict], alpha: np.ndarray, x: int, y: int,
               H: int, W: int, d: ToyDigitsDifficulty) -> bool:
    """Cover the instances' visible masks with an opaque layer if allowed.

    Leaves the masks untouched and returns False when a digit would keep
    less than ``d.min_visible`` of its ink.
    """
    cover = np.zeros((H, W), bool)
    h, w = alpha.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x0 < x1 and y0 < y1:
        cover[y0:y1, x0:x1] = alpha[y0 - y:y1 - y, x0 - x:x1 - x] >= 0.5
    new = [inst['visible'] & ~cover for inst in instances]
    for inst, vis in zip(instances, new):
        if vis.sum() < d.min_visible * inst['ink']:
            return False
    for inst, vis in zip(instances, new):
        inst['visible'] = vis
    return True


def _place_digit(rng: np.random.Generator, canvas: np.ndarray,
                 glyph: np.ndarray, instances: List[dict],
                 d: ToyDigitsDifficulty) -> Optional[dict]:
    """Render one glyph and paste it where the overlap rules allow."""
    H, W = canvas.shape[:2]
    for _ in range(10):  # a new size/shape when it does not fit
        alpha = _render_glyph(rng, glyph, rng.uniform(*d.digit_size), d)
        h, w = alpha.shape
        if h == 0 or h > H or w > W:
            continue
        for _ in range(20):
            x = int(rng.integers(0, W - w + 1))
            y = int(rng.integers(0, H - h + 1))
            box = (x, y, x + w, y + h)
            if any(_iou(box, o['box']) > d.max_overlap for o in instances):
                continue
            if not _try_cover(instances, alpha, x, y, H, W, d):
                continue
            under = canvas[y:y + h, x:x + w][alpha > 0].mean(0)
            _paste(canvas, alpha, _ink_color(rng, under, d), x, y)
            visible = np.zeros((H, W), bool)
            visible[y:y + h, x:x + w] = alpha > 0
            return dict(box=box, visible=visible, ink=int(visible.sum()))
    return None


def render_classification_crop(
        rng: np.random.Generator,
        source_index: int,
        *,
        pool: Optional[Sequence[int]] = None,
        img_size: int = 32,
        difficulty: DifficultyLike = None) -> np.ndarray:
    """Render one digit crop with the detection images' clutter.

    The digit fills ``cls_digit_scale`` of the crop, fully inside it and
    roughly centred; around it lie distractor strokes and, with
    ``cls_neighbor_prob``, part of a neighbouring digit from ``pool`` cut by
    the border. One occluder may cover part of the digit.

    Args:
        rng (np.random.Generator): Source of randomness.
        source_index (int): Glyph index of the digit (the crop's class is
            its label).
        pool (Sequence[int], optional): Glyphs for neighbours. Defaults to
            all 1797.
        img_size (int): Side of the square crop. Defaults to 32.
        difficulty (str | Mapping | ToyDigitsDifficulty, optional): See
            :func:`resolve_difficulty`. Defaults to None ('hard').

    Returns:
        np.ndarray: (img_size, img_size, 3) uint8 RGB crop.
    """
    d = resolve_difficulty(difficulty)
    if img_size < 16:
        raise ValueError(f'img_size={img_size} is too small for a crop; '
                         f'use at least 16')
    glyphs, _ = load_digit_glyphs()
    pool = (np.arange(len(glyphs)) if pool is None else np.asarray(pool))
    S = int(img_size)
    canvas = _render_background(rng, S, S, d)
    lo, hi = d.cls_digit_scale
    sizes = (lo * S, hi * S)
    n_strokes = int(rng.integers(d.cls_num_distractors[0],
                                 d.cls_num_distractors[1] + 1))
    _add_clutter(rng, canvas, n_strokes, 0, sizes, pool, d)
    if d.cls_neighbor_prob > 0 and rng.random() < d.cls_neighbor_prob:
        src = int(rng.choice(pool))
        alpha = _render_glyph(rng, glyphs[src], rng.uniform(*sizes), d)
        if alpha.size:
            h, w = alpha.shape
            side = rng.integers(4)  # mostly outside one border
            vis = rng.uniform(0.2, 0.45)
            if side == 0:
                x, y = -int(w * (1 - vis)), int(rng.integers(-h // 2, S))
            elif side == 1:
                x, y = S - int(w * vis), int(rng.integers(-h // 2, S))
            elif side == 2:
                x, y = int(rng.integers(-w // 2, S)), -int(h * (1 - vis))
            else:
                x, y = int(rng.integers(-w // 2, S)), S - int(h * vis)
            y0, x0 = min(max(y, 0), S - 1), min(max(x, 0), S - 1)
            under = canvas[y0:y0 + 1, x0:x0 + 1].reshape(3)
            _paste(canvas, alpha, _ink_color(rng, under, d), x, y)
    size = rng.uniform(*sizes)
    for _ in range(20):  # shrink until the rotated glyph fits
        alpha = _render_glyph(rng, glyphs[source_index], size, d)
        if 0 < alpha.shape[0] <= S and 0 < alpha.shape[1] <= S:
            break
        size = max(6.0, size * 0.9)
    else:
        raise RuntimeError(f'glyph {source_index} does not fit a {S} px '
                           f'crop; lower cls_digit_scale or aspect')
    h, w = alpha.shape
    jx, jy = (S - w) / 2, (S - h) / 2
    x = int(round(jx + rng.uniform(-0.5, 0.5) * jx))
    y = int(round(jy + rng.uniform(-0.5, 0.5) * jy))
    under = canvas[y:y + h, x:x + w][alpha > 0].mean(0)
    _paste(canvas, alpha, _ink_color(rng, under, d), x, y)
    if d.occlusion_prob > 0 and rng.random() < d.occlusion_prob:
        inst = [dict(visible=np.zeros((S, S), bool), ink=0)]
        inst[0]['visible'][y:y + h, x:x + w] = alpha > 0
        inst[0]['ink'] = int(inst[0]['visible'].sum())
        occ, ox, oy = _occluder(rng, (x, y, x + w, y + h), (S, S), d)
        if _try_cover(inst, occ, ox, oy, S, S, d):
            color = canvas[int(rng.integers(S)), int(rng.integers(S))]
            _paste(canvas, occ, color.copy(), ox, oy)
    return _finish(rng, canvas, d)


# --------------------------------------------------------------- writing
def _check_sizes(img_size: int, min_digits: int, max_digits: int,
                 d: ToyDigitsDifficulty) -> None:
    if min_digits < 1 or max_digits < min_digits:
        raise ValueError(f'min_digits={min_digits}, max_digits={max_digits}:'
                         f' need 1 <= min_digits <= max_digits')
    need = int(math.ceil(d.digit_size[1] * 1.5))
    if img_size < need:
        raise ValueError(
            f'img_size={img_size} is too small for digits up to '
            f'{d.digit_size[1]} px (need >= {need}); use a larger img_size '
            f'or a smaller difficulty digit_size')
    # a crude packing bound: the digits' mean area must fit into half the
    # canvas
    mean_side = sum(d.digit_size) / 2
    if max_digits * mean_side**2 > 0.5 * img_size**2:
        raise ValueError(
            f'max_digits={max_digits} digits of about {mean_side:.0f} px do '
            f'not fit on a {img_size} px image; lower max_digits or '
            f'digit_size, or raise img_size')


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
        _check_sizes(img_size, min_digits, max_digits, d)
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


def make_preview(images: Sequence[np.ndarray],
                 boxes: Sequence[Sequence[Sequence[float]]],
                 labels: Sequence[Sequence[int]],
                 *,
                 cols: int = 4,
                 scale: int = 2) -> np.ndarray:
    """Tile images with their boxes and labels drawn, for eyeballing.

    Args:
        images (Sequence[np.ndarray]): HxWx3 uint8 images of equal size.
        boxes (Sequence): Per image, ``[x, y, w, h]`` boxes.
        labels (Sequence): Per image, labels 0..9.
        cols (int): Tiles per row. Defaults to 4.
        scale (int): Nearest-neighbour upscale of each tile. Defaults to 2.

    Returns:
        np.ndarray: The grid as uint8 RGB.
    """
    if not images:
        raise ValueError('no images to preview')
    h, w = images[0].shape[:2]
    rows = int(math.ceil(len(images) / cols))
    pad = 4
    grid = Image.new('RGB', (cols * (w * scale + pad) + pad,
                             rows * (h * scale + pad) + pad), (255, 255, 255))
    for k, (img, bxs, lbs) in enumerate(zip(images, boxes, labels)):
        tile = Image.fromarray(img).resize((w * scale, h * scale),
                                           Image.NEAREST)
        draw = ImageDraw.Draw(tile)
        for (x, y, bw, bh), lab in zip(bxs, lbs):
            draw.rectangle([x * scale, y * scale, (x + bw) * scale - 1,
                            (y + bh) * scale - 1], outline=(255, 0, 0))
            draw.text((x * scale + 1, max(0, y * scale - 10)), str(lab),
                      fill=(255, 0, 0))
        r, c = divmod(k, cols)
        grid.paste(tile, (pad + c * (w * scale + pad),
                          pad + r * (h * scale + pad)))
    return np.asarray(grid)
