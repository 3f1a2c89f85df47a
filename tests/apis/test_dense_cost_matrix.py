# Copyright (c) OpenMMLab. All rights reserved.
"""One-stage (dense head) cost matrix: the class rows against a direct
computation, the background draw, the matrix, the dispatch and the record.
Tiny GFL and RetinaNet teachers on 64 px synthetic images (seconds)."""
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'models'))
from distill_helpers import (NUM_CLASSES, packed_batch,  # noqa: E402
                             setup_mmdet, teacher_cfg, tiny_single_stage_cfg)

setup_mmdet()

from mmdet.models.utils import unpack_gt_instances  # noqa: E402
from mmdet.registry import MODELS  # noqa: E402
from mmdet.structures.bbox import get_box_tensor  # noqa: E402

from mmkd.apis import (build_teacher_cost_matrix,  # noqa: E402
                       collect_dense_class_features, cost_matrix_record,
                       teacher_kind)
from mmkd.apis.cost_matrix import cost_matrix_names  # noqa: E402
from mmkd.apis.dense_cost_matrix import dense_cls_conv  # noqa: E402

C = NUM_CLASSES


def detector(kind='gfl', seed=0, **kwargs):
    torch.manual_seed(seed)
    return MODELS.build(tiny_single_stage_cfg(kind, base_channels=16,
                                              **kwargs))


def loader():
    return [
        packed_batch(num_items=[4, 5], cycle_labels=True),
        packed_batch(num_items=[6, 3], cycle_labels=True)
    ]


def reference(model, batches):
    """Per image, written out independently of mmkd: the cls tower run by
    hand, the head's ``get_targets`` called directly, and the
    location-level features and labels in plain loops."""
    head = model.bbox_head
    model.eval()
    images = []
    with torch.no_grad():
        for batch in batches:
            data = model.data_preprocessor(batch, False)
            gts, ignore, metas = unpack_gt_instances(data['data_samples'])
            x = model.extract_feat(data['inputs'])
            towers = []
            for level in x:
                feat = level
                for conv in head.cls_convs:
                    feat = conv(feat)
                towers.append(feat)
            sizes = [t.shape[-2:] for t in towers]
            anchors, valid = head.get_anchors(sizes, metas, device='cpu')
            targets = head.get_targets(
                anchors, valid, gts, metas, batch_gt_instances_ignore=ignore)
            per_level = targets[1] if hasattr(head, 'reg_max') else \
                targets[0]
            for i in range(len(metas)):
                feats, pos, strides = [], [], []
                offset = 0
                for lvl, (tower, labels) in enumerate(zip(towers,
                                                          per_level)):
                    d, height, width = tower.shape[1:]
                    a = head.prior_generator.num_base_priors[lvl]
                    feats.append(tower[i].permute(1, 2, 0).reshape(-1, d))
                    for p, label in enumerate(labels[i].tolist()):
                        if label < C:
                            pos.append((offset + p // a, label))
                    s = head.prior_generator.strides[lvl][0]
                    strides += [(s, height, width)] * (height * width)
                    offset += height * width
                images.append(
                    dict(
                        feats=torch.cat(feats),
                        pos=sorted(set(pos)),
                        strides=strides,
                        boxes=get_box_tensor(gts[i].bboxes),
                        img_shape=metas[i]['img_shape']))
    return images


def cell_of(index, strides):
    """(x1, y1, x2, y2) of location ``index`` (all levels)."""
    s, height, width = strides[index]
    start = strides.index((s, height, width))
    row, col = divmod(index - start, width)
    return col * s, row * s, (col + 1) * s, (row + 1) * s


@pytest.mark.parametrize('kind', ['gfl', 'retinanet'])
def test_rows_are_the_cls_tower_outputs_at_the_heads_positives(kind):
    model = detector(kind)
    feats = collect_dense_class_features(
        model, loader(), num_per_class=200, bg_per_image=3, progress=False)
    images = reference(model, loader())
    expected = [[] for _ in range(C)]
    for image in images:
        for loc, label in image['pos']:
            expected[label].append(image['feats'][loc])
    b = min(len(rows) for rows in expected)
    n, b_got, d = feats.shape
    assert (n, d) == (C + 1, 16) and b_got <= b
    for c in range(C):
        torch.testing.assert_close(feats[c], torch.stack(expected[c][:b_got]))
    if kind == 'retinanet':
        # 9 anchors share a location's feature: one row per location/class
        assert len(set(map(tuple, feats[0].tolist()))) == b_got


def test_background_rows_are_free_locations_drawn_by_the_seed():
    batches = loader()[:1]
    model = detector()
    images = reference(model, batches)
    candidates = []
    for image in images:
        positive = {loc for loc, _ in image['pos']}
        boxes = image['boxes'].tolist()
        h_img, w_img = image['img_shape'][:2]
        for loc, feat in enumerate(image['feats']):
            x1, y1, x2, y2 = cell_of(loc, image['strides'])
            overlaps = any(x1 < bx2 and x2 > bx1 and y1 < by2 and y2 > by1
                           for bx1, by1, bx2, by2 in boxes)
            centre_in = (x1 + x2) / 2 < w_img and (y1 + y2) / 2 < h_img
            if loc not in positive and not overlaps and centre_in:
                candidates.append(feat)
    candidates = torch.stack(candidates)

    def background(seed):
        feats = collect_dense_class_features(
            detector(), batches, num_per_class=4, bg_per_image=2,
            seed=seed, progress=False)
        return feats[C]

    bg = background(0)
    assert bg.shape[0] == 4  # 2 images x 2 locations
    for row in bg:
        assert (candidates - row).abs().amax(1).min() < 1e-5
    torch.testing.assert_close(background(0), bg)
    assert not torch.equal(background(5), bg)


def test_cost_matrix_is_c_plus_1_square_background_last():
    model = detector()
    assert teacher_kind(model) == 'single_stage'
    cost, names = build_teacher_cost_matrix(
        model, loader(), num_per_class=20, bg_per_image=4,
        class_names=['a', 'b', 'c'], progress=False)
    assert cost.shape == (C + 1, C + 1)
    assert names == ['a', 'b', 'c', 'background']
    assert cost_matrix_names(model, ['a', 'b', 'c']) == names
    torch.testing.assert_close(cost, cost.t())
    assert float(cost.diagonal().abs().max()) == 0
    off = cost[~torch.eye(C + 1, dtype=torch.bool)]
    assert (off > 0).all() and (off <= 1).all()
    record = cost_matrix_record(
        model, kappa=1.0, num_per_class=20, class_names=names,
        bg_per_image=4)
    assert record['source'] == 'dense_cls_feat'
    assert record['bg_per_image'] == 4
    assert record['teacher_type'] == 'GFL'


def test_fcos_rows_come_from_its_point_assignment():
    model = detector('fcos')
    feats = collect_dense_class_features(
        model, loader(), num_per_class=5, bg_per_image=4, progress=False)
    assert feats.shape == (C + 1, 5, 16)
    assert dense_cls_conv(model.bbox_head)[0] == 'conv_cls'


@pytest.mark.parametrize('head', [
    dict(type='RTMDetSepBNHead'),
    dict(type='RTMDetHead', with_objectness=True)
])
def test_rtmdet_rows_come_from_its_dynamic_assignment(head):
    model = detector('rtmdet', **head)
    feats = collect_dense_class_features(
        model, loader(), num_per_class=2, bg_per_image=2, progress=False)
    assert feats.shape == (C + 1, 2, 16)
    head = model.bbox_head
    assert dense_cls_conv(head)[0] == 'rtm_cls'
    # reference: the head's own loss, with the inputs of its per-level
    # classification convs and its assignment recorded
    seen, assigned = [], []
    convs = head.rtm_cls if isinstance(head.rtm_cls,
                                       torch.nn.ModuleList) else [head.rtm_cls]
    hooks = [
        conv.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
        for conv in convs
    ]

    def get_targets(*args, **kwargs):
        targets = type(head).get_targets(head, *args, **kwargs)
        assigned.append(torch.cat(targets[1], 1))
        return targets

    head.get_targets = get_targets
    expected = [set() for _ in range(C)]
    model.eval()
    with torch.no_grad():
        for batch in loader():
            seen.clear()
            assigned.clear()
            data = model.data_preprocessor(batch, False)
            head.loss(model.extract_feat(data['inputs']), data['data_samples'])
            rows = torch.cat([f.permute(0, 2, 3, 1).flatten(1, 2)
                              for f in seen], 1)
            for i, labels in enumerate(assigned[0]):
                for p in (labels < C).nonzero().flatten().tolist():
                    expected[int(labels[p])].add(tuple(rows[i, p].tolist()))
    for hook in hooks:
        hook.remove()
    for c in range(C):
        for row in feats[c]:
            assert tuple(row.tolist()) in expected[c]


def test_teacher_mode_and_hooks_are_restored():
    model = detector()
    model.train()
    collect_dense_class_features(
        model, loader(), num_per_class=2, progress=False)
    assert model.training
    assert not model.bbox_head.gfl_cls._forward_pre_hooks


def test_bad_teachers_are_named():
    two_stage = MODELS.build(teacher_cfg())
    assert teacher_kind(two_stage) == 'two_stage'
    with pytest.raises(TypeError, match='not a one-stage detector'):
        collect_dense_class_features(two_stage, loader(), progress=False)
    no_train_cfg = tiny_single_stage_cfg('retinanet')
    no_train_cfg.train_cfg = None
    with pytest.raises(ValueError, match='no assigner'):
        collect_dense_class_features(
            MODELS.build(no_train_cfg), loader(), progress=False)
    with pytest.raises(TypeError, match='no classification conv'):
        dense_cls_conv(torch.nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match='bg_per_image must be a positive'):
        collect_dense_class_features(
            detector(), loader(), bg_per_image=0, progress=False)


def test_missing_class_is_named():
    only_class_0 = loader()
    for batch in only_class_0:
        for s in batch['data_samples']:
            s.gt_instances.labels = torch.zeros_like(s.gt_instances.labels)
    with pytest.raises(ValueError, match=r'cls1 \(0\), cls2 \(0\)'):
        collect_dense_class_features(
            detector(), only_class_0, progress=False,
            class_names=['cls0', 'cls1', 'cls2'])
