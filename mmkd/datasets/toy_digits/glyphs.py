# Copyright (c) OpenMMLab. All rights reserved.
"""The glyphs (scikit-learn's bundled 8x8 digits) and their split into
disjoint train, val and test pools."""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple

import numpy as np

#: Class names; the COCO category id of class ``c`` is ``c + 1``.
CLASSES = tuple(str(i) for i in range(10))

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
