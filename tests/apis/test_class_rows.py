# Copyright (c) OpenMMLab. All rights reserved.
"""ClassRows in one process: early stop, one pass at most, the warning that
names short classes, the stack every class shares."""
import logging

import pytest
import torch

from mmkd.apis import class_rows
from mmkd.apis.class_rows import ClassRows


class _OnePassOnly:
    """A loader of ``length`` batches whose iterator goes on forever, like
    an infinite sampler (iteration-based training); reading past one pass
    fails the test instead of hanging it."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        yield from self.batches
        raise AssertionError('read past one pass of the loader')


def _feed(rows, loader, max_batches=None):
    for feats, labels in rows.batches(loader, max_batches, progress=False):
        rows.add(feats, labels)


def _batch(labels, d=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.tensor(labels)
    return torch.randn(labels.numel(), d, generator=gen), labels


def test_stops_as_soon_as_every_class_is_full():
    batches = [_batch([0, 1, 0, 1], seed=i) for i in range(5)]
    rows = ClassRows(['a', 'b'], num_per_class=4)
    _feed(rows, batches)
    assert rows.batches_read == 2 and rows.full
    stacked = rows.stack('hint')
    assert stacked.shape == (2, 4, 3)
    # class 0 keeps its rows in reading order
    expected = torch.cat([b[0][b[1] == 0] for b in batches[:2]])
    torch.testing.assert_close(stacked[0], expected)


def test_reads_one_pass_when_a_class_cannot_be_filled():
    loader = _OnePassOnly([_batch([0, 0, 1], seed=i) for i in range(3)])
    rows = ClassRows(['a', 'b'], num_per_class=4)
    _feed(rows, loader)
    assert rows.batches_read == 3 and not rows.full
    assert rows.stack('hint').shape == (2, 3, 3)


def test_max_batches_limits_the_read():
    rows = ClassRows(['a', 'b'], num_per_class=100)
    _feed(rows, [_batch([0, 1], seed=i) for i in range(6)], max_batches=2)
    assert rows.batches_read == 2


def test_short_classes_are_named_in_a_warning(monkeypatch):
    logged = []
    monkeypatch.setattr(
        class_rows, 'print_log',
        lambda msg, logger=None, level=logging.INFO: logged.append(
            (msg, level)))
    rows = ClassRows(['cat', 'dog', 'eel'], num_per_class=4)
    _feed(rows, [_batch([0, 0, 0, 0, 1, 1, 1, 2, 2], seed=1)])
    assert rows.stack('hint').shape == (3, 2, 3)
    warnings = [m for m, level in logged if level == logging.WARNING]
    assert len(warnings) == 1
    assert 'dog (3)' in warnings[0] and 'eel (2)' in warnings[0]
    assert 'cat' not in warnings[0]


def test_too_few_rows_is_an_error_naming_the_classes():
    rows = ClassRows(['cat', 'dog'], num_per_class=4)
    _feed(rows, [_batch([0, 0, 1], seed=2)])
    with pytest.raises(ValueError, match=r'dog \(1\)\. use more'):
        rows.stack('use more')
