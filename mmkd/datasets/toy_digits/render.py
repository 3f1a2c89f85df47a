# Copyright (c) OpenMMLab. All rights reserved.
"""Rendering: glyphs, backgrounds, clutter, occlusion, and the detection
images and classification crops built from them (pure numpy / PIL)."""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .difficulty import (DifficultyLike, Range, ToyDigitsDifficulty,
                         resolve_difficulty)
from .glyphs import load_digit_glyphs


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
    check_sizes(img_size, min_digits, max_digits, d)
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


def check_sizes(img_size: int, min_digits: int, max_digits: int,
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
