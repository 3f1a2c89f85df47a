# Copyright (c) OpenMMLab. All rights reserved.
"""A contact sheet of rendered images, to look at the data."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw


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
