# Copyright (c) OpenMMLab. All rights reserved.
"""Every knob of the toy digits rendering and the difficulty presets."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Dict, Mapping, Tuple, Union

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
