# Copyright (c) OpenMMLab. All rights reserved.
"""Toy datasets made by mmkd (pure numpy / PIL / scikit-learn)."""
from .toy_digits import (CATEGORIES, CLASSES, DIFFICULTY_PRESETS,
                         GENERATOR_VERSION, ToyDigitsDifficulty,
                         generate_toy_digits, load_digit_glyphs,
                         make_preview, render_classification_crop,
                         render_detection_image, resolve_difficulty,
                         split_source_indices)

__all__ = [
    'CATEGORIES', 'CLASSES', 'DIFFICULTY_PRESETS', 'GENERATOR_VERSION',
    'ToyDigitsDifficulty', 'generate_toy_digits', 'load_digit_glyphs',
    'make_preview', 'render_classification_crop', 'render_detection_image',
    'resolve_difficulty', 'split_source_indices'
]
