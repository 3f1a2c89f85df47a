# Copyright (c) OpenMMLab. All rights reserved.
"""Detection cost matrix: features, CKA cost, files."""
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'models'))
from distill_helpers import (NUM_CLASSES, packed_batch,  # noqa: E402
                             setup_mmdet, teacher_cfg)

setup_mmdet()

from mmdet.registry import MODELS  # noqa: E402

from mmkd.apis import (build_detection_cost_matrix,  # noqa: E402
                       collect_detection_class_features, load_cost_file,
                       save_cost_matrix)


def detector(seed=0):
    torch.manual_seed(seed)
    return MODELS.build(teacher_cfg())


def loader():
    return [
        packed_batch(num_items=[4, 5], cycle_labels=True),
        packed_batch(num_items=[6, 3], cycle_labels=True)
    ]


def test_features_are_the_fc_cls_inputs_of_gt_boxes():
    model = detector()
    feats = collect_detection_class_features(
        model, loader(), num_per_class=50, bg_per_image=5, progress=False)
    n, b, d = feats.shape
    assert n == NUM_CLASSES + 1 and d == 32 and b >= 2
    # Recompute the first image's GT features by hand: shared FCs + ReLU.
    from mmdet.structures.bbox import bbox2roi, get_box_tensor
    model.eval()
    data = model.data_preprocessor(loader()[0], False)
    sample = data['data_samples'][0]
    boxes = get_box_tensor(sample.gt_instances.bboxes)
    labels = sample.gt_instances.labels
    with torch.no_grad():
        x = model.extract_feat(data['inputs'])
        head = model.roi_head
        roi_feats = head.bbox_roi_extractor(x[:4], bbox2roi([boxes]))
        h = roi_feats.flatten(1)
        for fc in head.bbox_head.shared_fcs:
            h = torch.relu(fc(h))
    cls = int(labels[0])
    first = h[labels == cls][0]
    assert torch.allclose(feats[cls, 0], first, atol=1e-5)
    assert (feats >= 0).all()  # post-ReLU input of fc_cls


def test_equal_rows_per_class_truncated_to_the_smallest():
    feats = collect_detection_class_features(
        detector(), loader(), num_per_class=3, bg_per_image=8,
        progress=False)
    assert feats.shape[:2] == (NUM_CLASSES + 1, 3)


def test_missing_class_is_named():
    only_class_0 = loader()
    for batch in only_class_0:
        for s in batch['data_samples']:
            s.gt_instances.labels = torch.zeros_like(s.gt_instances.labels)
    with pytest.raises(ValueError, match=r'cls1 \(0\), cls2 \(0\)'):
        collect_detection_class_features(
            detector(), only_class_0, progress=False,
            class_names=['cls0', 'cls1', 'cls2'])


def test_cost_matrix_is_symmetric_zero_diagonal_and_saved(tmp_path):
    cost = build_detection_cost_matrix(
        detector(), loader(), kappa=1.0, num_per_class=20, progress=False)
    assert cost.shape == (NUM_CLASSES + 1, NUM_CLASSES + 1)
    assert torch.allclose(cost, cost.t(), atol=1e-6)
    assert torch.allclose(cost.diagonal(), torch.zeros(NUM_CLASSES + 1),
                          atol=1e-6)
    assert (cost >= 0).all() and (cost <= 1).all()
    out = tmp_path / 'c' / 'cost.pth'
    written = save_cost_matrix(cost, str(out), ['a', 'b', 'c', 'bg'])
    assert written == [str(out), str(tmp_path / 'c' / 'cost.png')]
    assert torch.equal(torch.load(out, weights_only=True), cost)
    assert torch.equal(load_cost_file(str(out)), cost)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_cost_file(str(tmp_path / 'nope.pth'))
    with pytest.raises(ValueError, match='square'):
        save_cost_matrix(torch.rand(2, 3), str(tmp_path / 'x.pth'))


def test_teacher_mode_is_restored():
    model = detector()
    model.train()
    collect_detection_class_features(
        model, loader(), num_per_class=2, progress=False)
    assert model.training
    # the pre-hook was removed
    assert not model.roi_head.bbox_head.fc_cls._forward_pre_hooks


def test_heatmap_scale_spans_off_diagonal_entries(tmp_path):
    """The zero diagonal must not take the colour scale (it hid the
    0.45-0.58 off-diagonal structure of the toy matrix)."""
    pytest.importorskip('matplotlib')
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmkd.apis.cost_io import off_diagonal_range, plot_cost_matrix
    cost = torch.tensor([[0.0, 0.45, 0.58], [0.5, 0.0, 0.52],
                         [0.47, 0.56, 0.0]])
    assert off_diagonal_range(cost) == pytest.approx((0.45, 0.58))
    fig, ax = plt.subplots()
    plot_cost_matrix(cost, str(tmp_path / 'unused.png'), ['a', 'b', 'c'],
                     ax=ax)
    image = ax.get_images()[0]
    assert image.get_clim() == pytest.approx((0.45, 0.58))
    assert image.get_array().mask.tolist() == torch.eye(3).bool().tolist()
    assert [t.get_text() for t in ax.get_xticklabels()] == ['a', 'b', 'c']
    plt.close(fig)
    assert not (tmp_path / 'unused.png').exists()
    out = plot_cost_matrix(cost, str(tmp_path / 'c.png'), ['a', 'b', 'c'])
    assert (tmp_path / 'c.png').stat().st_size > 0 and out.endswith('c.png')
