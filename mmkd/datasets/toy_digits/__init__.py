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

The package holds one concept per module: :mod:`.difficulty` (the knobs and
presets), :mod:`.glyphs` (the digits and their pools), :mod:`.render`
(images and crops), :mod:`.writer` (the files on disk) and :mod:`.preview`.
It needs numpy, PIL and scikit-learn only (``tools/make_toy_data.py`` loads
it without importing mmkd).
"""
from .difficulty import (DIFFICULTY_PRESETS, ToyDigitsDifficulty,
                         resolve_difficulty)
from .glyphs import CLASSES, load_digit_glyphs, split_source_indices
from .preview import make_preview
from .render import render_classification_crop, render_detection_image
from .writer import CATEGORIES, GENERATOR_VERSION, SPLITS, generate_toy_digits

__all__ = [
    'CATEGORIES', 'CLASSES', 'DIFFICULTY_PRESETS', 'GENERATOR_VERSION',
    'SPLITS', 'ToyDigitsDifficulty', 'generate_toy_digits',
    'load_digit_glyphs', 'make_preview', 'render_classification_crop',
    'render_detection_image', 'resolve_difficulty', 'split_source_indices'
]
