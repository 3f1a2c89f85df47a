# Copyright (c) OpenMMLab. All rights reserved.
"""Cost files: their record of what they were built from, atomic writes,
and files without a record (the official ones) loading as before."""
import os

import pytest
import torch
import torch.nn as nn

from mmkd.apis import cost_io as api
from mmkd.apis.cost_io import (load_cost_file, load_cost_matrix_and_record,
                               save_cost_matrix)
from mmkd.apis.cost_record import (DETECTOR_SOURCE, cost_matrix_record,
                                   record_mismatch, weights_fingerprint)
from mmkd.losses import as_cost_matrix


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def _cost(n=3):
    m = torch.rand(n, n)
    m = (m + m.t()) / 2
    return m.fill_diagonal_(0)


def test_fingerprint_follows_the_weights_not_the_object():
    a, b = _net(0), _net(0)
    assert weights_fingerprint(a) == weights_fingerprint(b)
    with torch.no_grad():
        b[0].weight[0, 0] += 1e-6
    assert weights_fingerprint(a) != weights_fingerprint(b)
    # a buffer counts too (BatchNorm statistics are part of the teacher)
    c = _net(0)
    c[1].running_mean.add_(1)
    assert weights_fingerprint(a) != weights_fingerprint(c)


def test_record_fields():
    rec = cost_matrix_record(
        _net(), kappa=2, num_per_class=50, class_names=('a', 'b'),
        source='pre_logits', bg_per_image=8, teacher_ckpt='t.pth', seed=3)
    assert rec['kappa'] == 2.0 and rec['num_per_class'] == 50
    assert rec['source'] == 'pre_logits' and rec['class_names'] == ['a', 'b']
    assert rec['bg_per_image'] is None  # not a detector
    assert rec['teacher_type'] == 'Sequential' and rec['seed'] == 3
    assert rec['teacher_weights'] == weights_fingerprint(_net())
    detector = _net()
    detector.roi_head = nn.Identity()
    rec = cost_matrix_record(detector, kappa=1, num_per_class=5,
                             class_names=None, source='logits')
    assert rec['source'] == DETECTOR_SOURCE and rec['bg_per_image'] == 16


def test_mismatch_names_every_differing_value():
    base = cost_matrix_record(_net(0), kappa=1, num_per_class=100,
                              class_names=['a', 'b'], teacher_ckpt='r101.pth')
    assert record_mismatch(None, base) is None
    assert record_mismatch(base, dict(base)) is None
    other = cost_matrix_record(_net(1), kappa=2, num_per_class=100,
                               class_names=['a', 'c'], teacher_ckpt='r50.pth')
    msg = record_mismatch(base, other)
    assert 'kappa: file 1.0, this run 2.0' in msg
    assert "class_names: file ['a', 'b'], this run ['a', 'c']" in msg
    assert "'r101.pth'" in msg and "'r50.pth'" in msg  # teacher named
    assert 'num_per_class' not in msg
    # an unknown side (no class names) is not compared
    assert record_mismatch(base, dict(base, class_names=None)) is None


def test_save_with_record_round_trips(tmp_path):
    cost = _cost()
    rec = cost_matrix_record(_net(), kappa=1, num_per_class=4,
                             class_names=['a', 'b', 'c'])
    out = str(tmp_path / 'c.pth')
    assert save_cost_matrix(cost, out, heatmap=False, record=rec) == [out]
    loaded, stored = load_cost_matrix_and_record(out)
    torch.testing.assert_close(loaded, cost)
    assert stored == rec
    # the losses' loader (cost_matrix='c.pth' in a config) reads it too
    torch.testing.assert_close(as_cost_matrix(out), cost)
    torch.testing.assert_close(load_cost_file(out), cost)


def test_plain_tensor_files_have_no_record(tmp_path):
    out = tmp_path / 'official.pth'
    cost = _cost(4)
    torch.save(cost, out)
    loaded, stored = load_cost_matrix_and_record(str(out))
    assert stored is None
    torch.testing.assert_close(loaded, cost)


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    out = str(tmp_path / 'c.pth')
    old = _cost()
    save_cost_matrix(old, out, heatmap=False)

    def broken_save(obj, path):
        with open(path, 'wb') as f:
            f.write(b'half a file')
        raise OSError('disk full')

    monkeypatch.setattr(api.torch, 'save', broken_save)
    with pytest.raises(OSError, match='disk full'):
        save_cost_matrix(_cost(), out, heatmap=False)
    monkeypatch.undo()
    torch.testing.assert_close(load_cost_file(out), old)
    assert os.listdir(tmp_path) == ['c.pth']  # no temporary left behind


def test_heatmap_is_written_beside(tmp_path):
    out = str(tmp_path / 'c.pth')
    written = save_cost_matrix(_cost(), out, ['a', 'b', 'c'])
    assert written == [out, str(tmp_path / 'c.png')]
    assert sorted(os.listdir(tmp_path)) == ['c.png', 'c.pth']
    with open(written[1], 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
