# Copyright (c) OpenMMLab. All rights reserved.
"""SingleStageDistiller on tiny RetinaNets, GFLs, FCOSs and RTMDets (CPU,
seconds)."""
import math

import pytest
import torch
import torch.nn as nn
from distill_helpers import (NUM_CLASSES, RecordingLoss, make_batch,
                             setup_mmdet, tiny_detector_cfg,
                             tiny_single_stage_cfg)

setup_mmdet()

from mmdet.models.dense_heads import RetinaHead  # noqa: E402
from mmdet.models.utils import unpack_gt_instances  # noqa: E402
from mmdet.registry import MODELS as MMDET_MODELS  # noqa: E402

from mmkd.losses import sigmoid_to_categorical_logits  # noqa: E402
from mmkd.models import (DetectionDistiller,  # noqa: E402
                         SingleStageDistiller)
from mmkd.models.distillers import (dense_prior_labels,  # noqa: E402
                                    gt_region_masks)

C = NUM_CLASSES


def build(kind='gfl', student=None, teacher=None, seed=0, **kwargs):
    torch.manual_seed(seed)
    return SingleStageDistiller(
        student=student or tiny_single_stage_cfg(kind),
        teacher=teacher or tiny_single_stage_cfg(kind, base_channels=16),
        **kwargs)


def symmetric_cost(n):
    cost = torch.rand(n, n)
    return ((cost + cost.t()) / 2).fill_diagonal_(0)


def full_distiller(**kwargs):
    """GFL pair, every source; teacher FPN 32 ch -> FPN connector."""
    kwargs.setdefault(
        'distill_losses',
        dict(
            loss_wkd_l=dict(
                type='mmkd.WKDLogitLoss',
                cost_matrix=symmetric_cost(C + 1),
                wd_weight=2.0),
            loss_kd=dict(type='mmkd.KDLoss'),
            loss_box=dict(type='mmkd.WassersteinBoxLoss'),
            loss_fpn=dict(type='mmdet.MSELoss')))
    kwargs.setdefault(
        'distill_inputs',
        dict(
            loss_wkd_l='dense_cls',
            loss_kd=dict(source='dense_cls', locations='all'),
            loss_box='dense_box',
            loss_fpn=dict(source='fpn', connector='fpn', region='gt')))
    kwargs.setdefault(
        'connectors',
        dict(
            fpn=dict(
                type='mmkd.ConvConnector', in_channels=16, out_channels=32)))
    return build(
        teacher=tiny_single_stage_cfg('gfl', base_channels=16, fpn=32),
        **kwargs)


class WeightRecordingLoss(nn.Module):
    """Records ``weight``/``avg_factor``; weighted mean of squared gaps."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, s, t, labels=None, weight=None, avg_factor=None):
        self.calls.append(
            dict(
                s=s.detach().clone(),
                t=t.detach().clone(),
                labels=labels,
                weight=weight,
                avg_factor=avg_factor))
        per_row = ((s - t)**2).sum(1)
        if weight is None:
            return per_row.mean()
        return (per_row * weight).sum() / avg_factor


def reference_targets(model, inputs, samples):
    """The student head's own assignment, called directly, as (N * P,)
    labels in image -> level -> location order, and the flattened student
    and teacher head outputs in the same order (explicit loops)."""
    head = model.student.bbox_head
    gts, ignore, metas = unpack_gt_instances(samples)
    with torch.no_grad():
        s_outs = head(model.student.extract_feat(inputs))
        t_outs = model.teacher.bbox_head(model.teacher.extract_feat(inputs))
    sizes = [c.shape[-2:] for c in s_outs[0]]
    anchors, valid = head.get_anchors(sizes, metas, device=inputs.device)
    targets = head.get_targets(
        anchors, valid, gts, metas, batch_gt_instances_ignore=ignore)
    per_level = targets[1] if hasattr(head, 'reg_max') else targets[0]
    n = inputs.shape[0]
    labels = torch.cat([
        torch.cat([lvl[i] for lvl in per_level]) for i in range(n)
    ])

    def flat(maps, width):
        return torch.cat([
            torch.cat([m[i].permute(1, 2, 0).reshape(-1, width)
                       for m in maps]) for i in range(n)
        ])

    return labels, flat, s_outs, t_outs


# ----------------------------------------------------------------------
# building, loss dict, student losses
# ----------------------------------------------------------------------
@pytest.mark.parametrize('kind', ['retinanet', 'gfl'])
def test_student_losses_equal_plain_mmdet_and_keys_are_prefixed(kind):
    model = build(kind)  # no terms
    model.train()
    inputs, samples = make_batch(model)
    ref = model.student.loss(inputs, samples)
    out = model.loss(inputs, samples)
    assert set(out) == {f'student.{k}' for k in ref}
    for key, value in ref.items():
        assert torch.equal(sum(out[f'student.{key}']), sum(value)), key

    terms = build(
        kind,
        distill_losses=dict(loss_kd=dict(type='mmkd.KDLoss')),
        distill_inputs=dict(loss_kd='dense_cls'))
    terms.load_state_dict(model.state_dict())
    terms.train()
    out = terms.loss(inputs, samples)
    assert set(out) == {f'student.{k}' for k in ref} | {
        'distill.loss_kd', 'distill.nonfinite_teacher'
    }
    for key, value in ref.items():
        assert torch.equal(sum(out[f'student.{key}']), sum(value)), key
    total, log_vars = terms.parse_losses(out)
    assert torch.isfinite(total) and 'distill.nonfinite_teacher' in log_vars


def test_every_source_runs_teacher_once_and_gradients_reach_student_only():
    model = full_distiller()
    model.train()
    counts = dict(backbone=0, head=0)
    model.teacher.backbone.register_forward_hook(
        lambda *_: counts.__setitem__('backbone', counts['backbone'] + 1))
    model.teacher.bbox_head.register_forward_hook(
        lambda *_: counts.__setitem__('head', counts['head'] + 1))
    teacher_before = {
        k: v.clone()
        for k, v in model.teacher.state_dict().items()
    }
    inputs, samples = make_batch(model)
    losses = model.loss(inputs, samples)
    assert counts == dict(backbone=1, head=1)
    assert {'distill.loss_wkd_l', 'distill.loss_kd', 'distill.loss_box',
            'distill.loss_fpn'} <= set(losses)
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    for name, p in model.student.named_parameters():
        assert p.grad is not None, name
    for name, p in model.connectors.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    for name, p in model.teacher.named_parameters():
        assert p.grad is None and not p.requires_grad, name
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k]), k
    assert not any(m.training for m in model.teacher.modules())


# ----------------------------------------------------------------------
# what the terms receive
# ----------------------------------------------------------------------
@pytest.mark.parametrize('kind', ['retinanet', 'gfl'])
def test_dense_cls_pos_picks_exactly_the_heads_positives(kind):
    rec = RecordingLoss()
    model = build(
        kind,
        distill_losses=dict(loss_rec=rec),
        distill_inputs=dict(loss_rec='dense_cls'))
    inputs, samples = make_batch(model, num_items=[2, 3])
    model.loss(inputs, samples)
    labels, flat, s_outs, t_outs = reference_targets(model, inputs, samples)
    pos = labels < C
    assert 0 < int(pos.sum()) < labels.numel()
    call = rec.calls[-1]
    assert torch.equal(call['labels'], labels[pos])
    s_ref = sigmoid_to_categorical_logits(flat(s_outs[0], C)[pos])
    t_ref = sigmoid_to_categorical_logits(flat(t_outs[0], C)[pos])
    assert call['s'].shape == (int(pos.sum()), C + 1)
    assert torch.allclose(call['s'], s_ref, atol=1e-6)
    assert torch.allclose(call['t'], t_ref, atol=1e-6)
    assert call['s_requires_grad'] and not call['t_requires_grad']


def test_dense_box_gives_edge_distributions_of_the_positives():
    rec = RecordingLoss(with_labels=False)
    model = build(
        'gfl',
        distill_losses=dict(loss_box=rec),
        distill_inputs=dict(loss_box='dense_box'))
    inputs, samples = make_batch(model, num_items=[2, 3])
    model.loss(inputs, samples)
    labels, flat, s_outs, t_outs = reference_targets(model, inputs, samples)
    pos = labels < C
    bins = model.student.bbox_head.reg_max + 1
    call = rec.calls[-1]
    assert call['s'].shape == (int(pos.sum()) * 4, bins) == (
        call['t'].shape)
    # LDHead's reshape: (M, 4 * (reg_max + 1)) -> (M * 4, reg_max + 1)
    t_ref = flat(t_outs[1], 4 * bins)[pos].reshape(-1, bins)
    assert torch.allclose(call['t'], t_ref, atol=1e-6)
    assert torch.allclose(
        call['s'], flat(s_outs[1], 4 * bins)[pos].reshape(-1, bins),
        atol=1e-6)


def test_dense_box_student_score_weight_is_lds():
    rec = WeightRecordingLoss()
    model = build(
        'gfl',
        distill_losses=dict(loss_box=rec),
        distill_inputs=dict(
            loss_box=dict(source='dense_box', box_weight='student_score')))
    inputs, samples = make_batch(model, num_items=[2, 3])
    model.loss(inputs, samples)
    labels, flat, s_outs, _ = reference_targets(model, inputs, samples)
    pos = labels < C
    score = flat(s_outs[0], C)[pos].sigmoid().max(1).values
    call = rec.calls[-1]
    assert torch.allclose(call['weight'], score.repeat_interleave(4),
                          atol=1e-6)
    assert math.isclose(call['avg_factor'], 4 * float(score.sum()),
                        rel_tol=1e-5)


def test_teacher_and_all_locations():
    rec_t, rec_all = RecordingLoss(), WeightRecordingLoss()
    model = build(
        'retinanet',
        distill_losses=dict(loss_t=rec_t, loss_all=rec_all),
        distill_inputs=dict(
            loss_t=dict(
                source='dense_cls', locations='teacher', score_thr=0.5,
                categorical='normalized'),
            loss_all=dict(source='dense_cls', locations='all')))
    inputs, samples = make_batch(model)
    model.loss(inputs, samples)
    labels, flat, _, t_outs = reference_targets(model, inputs, samples)
    t_flat = flat(t_outs[0], C)
    score = t_flat.sigmoid().max(1).values
    confident = score >= 0.5
    assert 0 < int(confident.sum()) < labels.numel()
    call = rec_t.calls[-1]
    assert torch.equal(call['labels'], labels[confident])
    assert torch.allclose(
        call['t'],
        sigmoid_to_categorical_logits(t_flat[confident], 'normalized'),
        atol=1e-6)
    call = rec_all.calls[-1]
    assert call['s'].shape == (labels.numel(), C + 1)
    assert torch.equal(call['labels'], labels)
    assert torch.allclose(call['weight'], score, atol=1e-6)
    assert math.isclose(call['avg_factor'], float(score.sum()),
                        rel_tol=1e-5)


def test_fcos_positives_come_from_its_point_assignment():
    rec = RecordingLoss()
    model = build(
        'fcos',
        distill_losses=dict(loss_rec=rec),
        distill_inputs=dict(loss_rec='dense_cls'))
    inputs, samples = make_batch(model, num_items=[2, 3])
    losses = model.loss(inputs, samples)
    assert 'student.loss_centerness' in losses
    head = model.student.bbox_head
    with torch.no_grad():
        outs = head(model.student.extract_feat(inputs))
    sizes = [c.shape[-2:] for c in outs[0]]
    points = head.prior_generator.grid_priors(sizes, device=inputs.device)
    gts = unpack_gt_instances(samples)[0]
    per_level = head.get_targets(points, gts)[0]  # (N * P_l, ) per level
    labels = torch.cat([lvl.view(2, -1) for lvl in per_level], 1).flatten()
    pos = labels < C
    assert int(pos.sum()) > 0
    assert torch.equal(rec.calls[-1]['labels'], labels[pos])


@pytest.mark.parametrize('head', [
    dict(type='RTMDetSepBNHead'),
    dict(type='RTMDetHead', with_objectness=True)
])
def test_rtmdet_positives_are_its_own_losss_dynamic_assignment(head):
    rec = RecordingLoss()
    model = build(
        'rtmdet',
        student=tiny_single_stage_cfg('rtmdet', **head),
        teacher=tiny_single_stage_cfg('rtmdet', base_channels=16, **head),
        distill_losses=dict(loss_rec=rec, loss_f=dict(type='mmdet.MSELoss')),
        distill_inputs=dict(
            loss_rec='dense_cls',
            loss_f=dict(source='fpn', region='gt', connector='fpn')),
        connectors=dict(
            fpn=dict(
                type='mmkd.ConvConnector', in_channels=16, out_channels=16)))
    head = model.student.bbox_head
    seen = []

    def get_targets(*args, **kwargs):
        targets = type(head).get_targets(head, *args, **kwargs)
        seen.append(torch.cat(targets[1], 1).clone())
        return targets

    head.get_targets = get_targets  # records the student's own loss too
    inputs, samples = make_batch(model, num_items=[2, 3])
    losses = model.loss(inputs, samples)
    assert {'student.loss_cls', 'student.loss_bbox', 'distill.loss_f'
            } <= set(losses)
    assert float(losses['distill.loss_f']) > 0
    # one assignment in the student's loss, one in the distiller: the same
    assert len(seen) == 2 and torch.equal(seen[0], seen[1])
    labels = seen[0].flatten()
    pos = labels < C
    assert int(pos.sum()) > 0
    assert torch.equal(rec.calls[-1]['labels'], labels[pos])
    gts, ignore, metas = unpack_gt_instances(samples)
    sizes = [x.shape[-2:] for x in model.student.extract_feat(inputs)]
    with pytest.raises(ValueError, match='pass the head outputs'):
        dense_prior_labels(head, sizes, gts, metas, ignore)
    with torch.no_grad():
        outs = head(model.student.extract_feat(inputs))
    with pytest.raises(ValueError, match='do not match the sizes of preds'):
        dense_prior_labels(head, sizes[:-1] + [torch.Size((1, 1))], gts,
                           metas, ignore, preds=outs)


def test_dense_prior_labels_is_the_heads_assignment():
    model = build('retinanet')
    inputs, samples = make_batch(model, num_items=[1, 2])
    labels, *_ = reference_targets(model, inputs, samples)
    gts, ignore, metas = unpack_gt_instances(samples)
    sizes = [x.shape[-2:] for x in model.student.extract_feat(inputs)]
    ours = dense_prior_labels(model.student.bbox_head, sizes, gts, metas,
                              ignore)
    assert ours.shape == (2, labels.numel() // 2)
    assert torch.equal(ours.flatten(), labels)


def test_gt_region_masks_mark_the_cells_boxes_overlap():
    from mmengine.structures import InstanceData
    gts = [
        InstanceData(
            bboxes=torch.tensor([[10., 20., 30., 25.]]),
            labels=torch.tensor([0])),
        InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0)),
    ]
    fine, coarse = gt_region_masks([(8, 8), (2, 2)], [(8, 8), (32, 32)],
                                   gts)
    expected = torch.zeros(8, 8)
    expected[2:4, 1:4] = 1  # rows 16-32 meet 20-25, cols 8-32 meet 10-30
    assert fine.shape == (2, 1, 8, 8)
    assert torch.equal(fine[0, 0], expected)
    assert fine[1].sum() == 0  # no boxes, no region
    assert torch.equal(coarse[0, 0], torch.tensor([[1., 0.], [0., 0.]]))


def test_fpn_region_gt_zeroes_both_sides_outside_the_boxes():
    rec = RecordingLoss(with_labels=False)
    model = build(
        'retinanet',
        distill_losses=dict(loss_f=rec),
        distill_inputs=dict(loss_f=dict(source='fpn', region='gt',
                                        levels=[0])))
    inputs, samples = make_batch(model, num_items=[1, 2])
    model.loss(inputs, samples)
    gts = unpack_gt_instances(samples)[0]
    with torch.no_grad():
        x_s = model.student.extract_feat(inputs)
    mask = gt_region_masks([x_s[0].shape[-2:]],
                           model.student.bbox_head.prior_generator.strides,
                           gts)[0]
    assert 0 < mask.sum() < mask.numel()
    call = rec.calls[-1]
    assert torch.allclose(call['s'], x_s[0] * mask, atol=1e-6)
    assert (call['t'][(mask == 0).expand_as(call['t'])] == 0).all()
    assert (call['t'][(mask == 1).expand_as(call['t'])] != 0).any()


def test_wkd_l_with_a_background_cost_matrix_runs_on_dense_cls():
    model = build(
        'retinanet',
        distill_losses=dict(
            loss_wkd_l=dict(
                type='mmkd.WKDLogitLoss', cost_matrix=symmetric_cost(C + 1))),
        distill_inputs=dict(loss_wkd_l='dense_cls'))
    inputs, samples = make_batch(model)
    losses = model.loss(inputs, samples)
    value = losses['distill.loss_wkd_l']
    assert torch.isfinite(value) and value > 0 and value.requires_grad
    # a new matrix from a hook goes through the same size check
    assert model.set_cost_matrix(symmetric_cost(C + 1)) == ['loss_wkd_l']


# ----------------------------------------------------------------------
# hooks, export, robustness
# ----------------------------------------------------------------------
def test_weight_scale_scales_the_terms():
    model = full_distiller()
    model.train()
    inputs, samples = make_batch(model)
    full = model.loss(inputs, samples)
    model.set_distill_weight_scale(0.5)
    assert model.distill_losses['loss_wkd_l'].wd_weight == 1.0  # 2.0 * 0.5
    half = model.loss(inputs, samples)
    for key in ('distill.loss_kd', 'distill.loss_box', 'distill.loss_fpn'):
        assert torch.allclose(half[key], 0.5 * full[key]), key
    assert not torch.allclose(half['distill.loss_wkd_l'],
                              0.5 * full['distill.loss_wkd_l'])
    for key in full:
        if key.startswith('student.'):
            assert torch.equal(sum(half[key]), sum(full[key])), key


def test_student_state_dict_loads_into_the_bare_student():
    model = full_distiller()
    state = model.student_state_dict()
    assert not any(k.startswith(('teacher.', 'connectors.', 'student.'))
                   for k in state)
    bare = MMDET_MODELS.build(tiny_single_stage_cfg('gfl'))
    bare.load_state_dict(state, strict=True)
    for key, value in model.student.state_dict().items():
        assert torch.equal(bare.state_dict()[key], value), key
    assert not any(k.startswith('teacher.') for k in model.state_dict())


def test_disabled_distillation_skips_the_teacher():
    model = full_distiller()
    model.set_distillation_enabled(False)
    calls = []
    model.teacher.backbone.register_forward_hook(lambda *a: calls.append(1))
    inputs, samples = make_batch(model)
    losses = model.loss(inputs, samples)
    assert not calls
    for key in ('loss_wkd_l', 'loss_kd', 'loss_box', 'loss_fpn'):
        assert losses[f'distill.{key}'].item() == 0.0
    total, _ = model.parse_losses(losses)
    total.backward()


def test_images_without_boxes_give_connected_zeros():
    model = full_distiller()
    inputs, samples = make_batch(model, num_items=[0, 0])
    losses = model.loss(inputs, samples)
    for key in ('loss_wkd_l', 'loss_box', 'loss_fpn'):
        value = losses[f'distill.{key}']
        assert value.item() == 0.0 and value.requires_grad, key
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()


def test_nan_teacher_priors_are_skipped_and_counted():
    model = full_distiller()
    seen = []

    def poison(module, args, output):
        seen.append(1)
        if len(seen) > 1:  # only the first (finest) level
            return output
        output = output.clone()
        output[0, :, 0, 0] = math.nan  # one prior of image 0 (GFL: A = 1)
        return output

    model.teacher.bbox_head.gfl_cls.register_forward_hook(poison)
    inputs, samples = make_batch(model)
    losses = model.loss(inputs, samples)
    assert losses['distill.nonfinite_teacher'].item() == 1
    assert model.nonfinite_skipped == 1
    for key, value in losses.items():
        if 'loss' in key:
            value = sum(value) if isinstance(value, list) else value
            assert torch.isfinite(value), key


# ----------------------------------------------------------------------
# bad input: clear errors
# ----------------------------------------------------------------------
def test_a_two_stage_model_is_sent_to_detection_distiller():
    with pytest.raises(TypeError, match='two-stage .*mmkd.DetectionDistill'):
        build(student=tiny_detector_cfg())
    with pytest.raises(TypeError, match='single-stage .*mmkd.SingleStage'):
        torch.manual_seed(0)
        DetectionDistiller(
            student=tiny_single_stage_cfg('gfl'),
            teacher=tiny_single_stage_cfg('gfl'))


def test_different_num_classes():
    with pytest.raises(ValueError,
                       match=r'num_classes=3 and the teacher num_classes=5'):
        build(
            teacher=tiny_single_stage_cfg('gfl', num_classes=5),
            distill_losses=dict(loss_kd=RecordingLoss()),
            distill_inputs=dict(loss_kd='dense_cls'))


@pytest.mark.parametrize('kind, generator, match', [
    ('retinanet', dict(ratios=[1.0]),
     r'num_base_priors: student \(9, 9, 9, 9, 9\) vs teacher \(3, 3, 3, '
     r'3, 3\).*ratios: student \(0.5, 1.0, 2.0\) vs teacher \(1.0,\)'),
    ('gfl', dict(octave_base_scale=6),
     r'scales: student \(8.0,\) vs teacher \(6.0,\)'),
    ('gfl', dict(strides=[8, 16, 32, 64, 96]),
     r'strides: student .*\(128, 128\)\) vs teacher .*\(96, 96\)'),
])
def test_different_priors(kind, generator, match):
    teacher = tiny_single_stage_cfg(kind, base_channels=16)
    teacher.bbox_head.anchor_generator.update(generator)
    with pytest.raises(ValueError, match='generators differ: .*' + match):
        build(
            kind,
            teacher=teacher,
            distill_losses=dict(loss_kd=RecordingLoss()),
            distill_inputs=dict(loss_kd='dense_cls'))


def test_different_feature_map_sizes_at_runtime():
    teacher = tiny_single_stage_cfg('gfl', base_channels=16)
    teacher.neck.start_level = 0  # strides 4..64 under the same anchors
    model = build(
        teacher=teacher,
        distill_losses=dict(loss_kd=RecordingLoss()),
        distill_inputs=dict(loss_kd='dense_cls'))
    inputs, samples = make_batch(model)
    with pytest.raises(ValueError,
                       match=r"feature maps are \[\(8, 8\), .*teacher's "
                       r'\[\(16, 16\)'):
        model.loss(inputs, samples)


def test_box_term_on_a_head_without_box_distributions():
    with pytest.raises(ValueError,
                       match=r'student head RetinaHead has none; heads that '
                       'have them: GFLHead, LDHead'):
        build(
            'retinanet',
            distill_losses=dict(loss_box=RecordingLoss()),
            distill_inputs=dict(loss_box='dense_box'))
    with pytest.raises(ValueError, match=r'reg_max=16 and the teacher '
                       r'reg_max=8; set the student'):
        build(
            teacher=tiny_single_stage_cfg(
                'gfl', base_channels=16, reg_max=8),
            distill_losses=dict(loss_box=RecordingLoss()),
            distill_inputs=dict(loss_box='dense_box'))


def test_connector_width_mismatch():
    kwargs = dict(
        teacher=tiny_single_stage_cfg('gfl', base_channels=16, fpn=32),
        distill_losses=dict(loss_f=RecordingLoss()))
    with pytest.raises(ValueError, match='16 channels .* 32; add a connector'):
        build(distill_inputs=dict(loss_f='fpn'), **kwargs)
    with pytest.raises(ValueError, match="Connector 'c' .* takes 8"):
        build(
            distill_inputs=dict(loss_f=dict(source='fpn', connector='c')),
            connectors=dict(
                c=dict(type='mmkd.ConvConnector', in_channels=8,
                       out_channels=32)),
            **kwargs)


def test_cost_matrix_without_the_background_column():
    with pytest.raises(ValueError,
                       match=r'must be \(4, 4\)\. It looks like a matrix '
                       'without the background class'):
        build(
            distill_losses=dict(
                loss_wkd_l=dict(
                    type='mmkd.WKDLogitLoss', cost_matrix=symmetric_cost(C))),
            distill_inputs=dict(loss_wkd_l='dense_cls'))


class OddHead(RetinaHead):
    """A head with its own target assignment (as RTMDet's)."""

    def get_targets(self, *args, **kwargs):
        return super().get_targets(*args, **kwargs)


def test_head_with_an_unsupported_assignment():
    student = MMDET_MODELS.build(tiny_single_stage_cfg('retinanet'))
    student.bbox_head.__class__ = OddHead
    kwargs = dict(
        student=student,
        teacher=tiny_single_stage_cfg('retinanet', base_channels=16))
    with pytest.raises(NotImplementedError,
                       match='OddHead .*supported heads: AnchorHead '
                       'subclasses'):
        build(
            distill_losses=dict(loss_kd=RecordingLoss()),
            distill_inputs=dict(loss_kd='dense_cls'),
            **kwargs)
    # FPN terms do not need the assignment
    build(
        distill_losses=dict(loss_f=RecordingLoss()),
        distill_inputs=dict(loss_f='fpn'),
        **kwargs)


@pytest.mark.parametrize('entry, loss, match', [
    (dict(source='fpn', locations='pos'), None,
     "'locations' applies to source 'dense_cls', not 'fpn'"),
    (dict(source='dense_cls', locations='near'), None,
     r"\['locations'\] must be one of \('pos', 'all', 'teacher'\)"),
    (dict(source='dense_cls', score_thr=0.5), None,
     "'score_thr' applies to locations='teacher', not 'pos'"),
    (dict(source='dense_cls', locations='teacher', score_thr=1.5), None,
     r'must be a number in \(0, 1\]'),
    (dict(source='dense_cls', categorical='softmax'), None,
     r"\['categorical'\] must be one of \('exclusive', 'normalized'\)"),
    (dict(source='fpn', region='box'), None,
     r"\['region'\] must be one of \(None, 'gt'\)"),
    (dict(source='dense_cls', region='gt'), None,
     "'region' applies to source 'fpn'"),
    (dict(source='dense_cls', connector='c'), None,
     "'connector' applies to source 'fpn', not 'dense_cls'"),
    (dict(source='dense_box', box_weight='teacher'), None,
     r"\['box_weight'\] must be one of \(None, 'student_score'\)"),
    (dict(source='dense_cls', locations='all'), RecordingLoss(),
     "locations='all' weights each sample, but the loss RecordingLoss takes "
     "no 'weight' argument"),
    (dict(source='dense_cls', levels=[0]), None,
     "'levels' applies to source 'fpn', not 'dense_cls'"),
    ('roi_cls', None, r"valid sources: \['dense_cls', 'dense_box', 'fpn'\]"),
])
def test_bad_distill_inputs(entry, loss, match):
    with pytest.raises(ValueError, match=match):
        build(
            distill_losses=dict(loss_a=loss or WeightRecordingLoss()),
            distill_inputs=dict(loss_a=entry),
            connectors=dict(
                c=dict(type='mmkd.ConvConnector', in_channels=16,
                       out_channels=16)))


def test_student_without_train_cfg():
    student = tiny_single_stage_cfg('gfl')
    student.train_cfg = None
    with pytest.raises(ValueError, match='student has no train_cfg'):
        build(student=student)


def test_teacher_trainable_is_refused():
    with pytest.raises(NotImplementedError,
                       match='not supported by SingleStageDistiller'):
        build(teacher_trainable=True)
