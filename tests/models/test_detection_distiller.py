# Copyright (c) OpenMMLab. All rights reserved.
"""DetectionDistiller on tiny Faster R-CNNs (CPU, seconds)."""
import math

import pytest
import torch
from distill_helpers import (NUM_CLASSES, RecordingLoss,
                             RecordingLossNoLabels, build_distiller,
                             make_batch, setup_mmdet, teacher_cfg,
                             tiny_detector_cfg)

setup_mmdet()

from mmkd.models import DetectionDistiller  # noqa: E402
from mmkd.models.distillers import StepContext  # noqa: E402

STUDENT_KEYS = {
    'student.loss_rpn_cls', 'student.loss_rpn_bbox', 'student.loss_cls',
    'student.acc', 'student.loss_bbox'
}


def finite(value):
    if isinstance(value, list):
        return all(bool(torch.isfinite(v)) for v in value)
    return bool(torch.isfinite(value))


def full_distiller(**kwargs):
    """All four sources; teacher FPN 32 ch vs student 16 -> connectors."""
    cost = torch.rand(NUM_CLASSES + 1, NUM_CLASSES + 1)
    cost = (cost + cost.t()) / 2
    cost.fill_diagonal_(0)
    kwargs.setdefault(
        'distill_losses',
        dict(
            loss_wkd_l=dict(
                type='mmkd.WKDLogitLoss', cost_matrix=cost, wd_weight=2.0),
            loss_wkd_f=dict(
                type='mmkd.WKDFeatureLoss', grid=2, loss_weight=1e-3),
            loss_fpn=dict(type='mmdet.MSELoss', loss_weight=1.0),
            loss_reg=dict(type='mmdet.MSELoss', loss_weight=1.0)))
    kwargs.setdefault(
        'distill_inputs',
        dict(
            loss_wkd_l='roi_cls',
            loss_wkd_f=dict(source='roi_feat', connector='roi'),
            loss_fpn=dict(
                source='fpn',
                connector='fpn',
                level_weights=[1.0, 0.5, 0.5, 0.25, 0.25]),
            loss_reg='roi_reg'))
    kwargs.setdefault(
        'connectors',
        dict(
            roi=dict(type='mmkd.ConvConnector', in_channels=16,
                     out_channels=32),
            fpn=dict(
                type='mmkd.BottleneckProjector',
                in_channels=16,
                out_channels=32,
                mid_channels=8,
                act=None)))
    return build_distiller(teacher=teacher_cfg(fpn=32), **kwargs)


def recorder_distiller(**kwargs):
    rec = RecordingLoss()
    model = build_distiller(
        distill_losses=dict(loss_rec=rec),
        distill_inputs=dict(loss_rec='roi_cls'),
        **kwargs)
    return model, rec


# ----------------------------------------------------------------------
# loss dict, alignment, teacher work
# ----------------------------------------------------------------------
def test_student_losses_equal_plain_mmdet_and_keys_are_prefixed():
    model, _ = recorder_distiller()
    model.train()
    inputs, samples = make_batch(model)
    torch.manual_seed(3)
    ref = model.student.loss(inputs, samples)
    torch.manual_seed(3)
    out = model.loss(inputs, samples)
    assert set(out) == STUDENT_KEYS | {
        'distill.loss_rec', 'distill.nonfinite_teacher'
    }
    for key, value in ref.items():
        got = out[f'student.{key}']
        if isinstance(value, list):
            value, got = sum(value), sum(got)
        assert torch.allclose(got, value), key
    # parse_losses optimises exactly the loss keys, student + distill.
    total, log_vars = model.parse_losses(out)
    expected = sum(
        sum(x.mean() for x in v) if isinstance(v, list) else v.mean()
        for k, v in out.items() if 'loss' in k)
    assert torch.allclose(total, expected)
    assert 'distill.nonfinite_teacher' in log_vars


def test_teacher_scores_the_students_sampled_rois():
    model, rec = recorder_distiller()
    model.train()
    seen = {}

    def grab(role):

        def hook(module, args, output):
            seen[role] = args[1].detach().clone()

        return hook

    handles = [
        model.student.roi_head.bbox_roi_extractor.register_forward_hook(
            grab('student')),
        model.teacher.roi_head.bbox_roi_extractor.register_forward_hook(
            grab('teacher'))
    ]
    inputs, samples = make_batch(model)
    model.loss(inputs, samples)
    for h in handles:
        h.remove()
    assert seen['student'].shape[0] > 0
    assert torch.equal(seen['student'], seen['teacher'])

    call = rec.calls[-1]
    rois = seen['teacher']
    # Teacher logits are those of its own box head on these RoIs (pins the
    # public-module path against mmdet's protected _bbox_forward).
    with torch.no_grad():
        x_t = model.teacher.extract_feat(inputs)
        ref = model.teacher.roi_head._bbox_forward(x_t, rois)
    assert torch.allclose(call['t'], ref['cls_score'])
    assert call['s'].shape == call['t'].shape == (rois.shape[0],
                                                  NUM_CLASSES + 1)
    # Labels: positives first with their GT class, then background.
    labels = call['labels']
    assert labels.shape == (rois.shape[0], )
    assert int(labels.max()) == NUM_CLASSES
    assert (labels == NUM_CLASSES).any() and (labels < NUM_CLASSES).any()
    assert not call['t_requires_grad'] and call['s_requires_grad']


def test_roi_forward_equals_protected_bbox_forward():
    model = build_distiller()
    head = model.teacher.roi_head
    inputs, _ = make_batch(model)
    x = model.teacher.extract_feat(inputs)
    rois = torch.tensor([[0, 2., 3., 40., 50.], [1, 10., 10., 30., 20.]])
    ours = DetectionDistiller.roi_forward(head, x, rois)
    ref = head._bbox_forward(x, rois)
    for key in ('cls_score', 'bbox_pred', 'bbox_feats'):
        assert torch.equal(ours[key], ref[key]), key


def test_teacher_backbone_and_neck_run_once_per_step():
    model = full_distiller()
    counts = dict(backbone=0, neck=0)

    def counter(name):

        def hook(*_):
            counts[name] += 1

        return hook

    model.teacher.backbone.register_forward_hook(counter('backbone'))
    model.teacher.neck.register_forward_hook(counter('neck'))
    inputs, samples = make_batch(model)
    model.loss(inputs, samples)
    assert counts == dict(backbone=1, neck=1)


def test_label_passing_follows_the_loss_signature():
    rec = RecordingLossNoLabels()
    model = build_distiller(
        distill_losses=dict(loss_kd=rec),
        distill_inputs=dict(loss_kd='roi_cls'))
    inputs, samples = make_batch(model)
    model.loss(inputs, samples)
    assert rec.calls[-1]['labels'] is None


# ----------------------------------------------------------------------
# gradients, frozen teacher, train/eval
# ----------------------------------------------------------------------
def test_gradients_reach_student_and_connectors_only_teacher_bit_identical():
    model = full_distiller()
    model.train()
    teacher_before = {
        k: v.clone()
        for k, v in model.teacher.state_dict().items()
    }
    optim = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-3)
    inputs, samples = make_batch(model)
    for _ in range(3):
        losses = model.loss(inputs, samples)
        total, _ = model.parse_losses(losses)
        assert torch.isfinite(total)
        optim.zero_grad()
        total.backward()
        for name, p in model.teacher.named_parameters():
            assert p.grad is None, name
            assert not p.requires_grad
        for name, p in model.connectors.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        optim.step()
    for name, p in model.student.named_parameters():
        assert p.grad is not None, name
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k]), k  # BN stats included
    # every distillation term moved the student's connectors
    assert {'distill.loss_wkd_l', 'distill.loss_wkd_f', 'distill.loss_fpn',
            'distill.loss_reg'} <= set(losses)


def test_teacher_stays_in_eval_mode():
    model = build_distiller()
    assert model.train() is model
    assert model.student.training
    assert not any(m.training for m in model.teacher.modules())
    model.eval()
    model.train(True)
    assert not any(m.training for m in model.teacher.modules())


def test_predict_and_tensor_modes_delegate_to_the_student():
    model = build_distiller()
    model.eval()
    inputs, samples = make_batch(model, training=False)
    with torch.no_grad():
        ours = model(inputs, [s.clone() for s in samples], mode='predict')
        ref = model.student(
            inputs, [s.clone() for s in samples], mode='predict')
        t_ours = model(inputs, samples, mode='tensor')
        t_ref = model.student(inputs, samples, mode='tensor')
    for a, b in zip(ours, ref):
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)
    flat = lambda x: [t for t in torch.utils._pytree.tree_leaves(x)  # noqa
                      if isinstance(t, torch.Tensor)]
    assert all(torch.equal(a, b) for a, b in zip(flat(t_ours), flat(t_ref)))
    with pytest.raises(RuntimeError, match='Invalid mode "bogus"'):
        model(inputs, samples, mode='bogus')


# ----------------------------------------------------------------------
# weight scale and stopping (API used by the hooks)
# ----------------------------------------------------------------------
def test_weight_scale_scales_lambda_of_wkd_l_and_whole_other_terms():
    model = full_distiller()
    model.train()
    inputs, samples = make_batch(model)
    torch.manual_seed(1)
    full = model.loss(inputs, samples)
    model.set_distill_weight_scale(0.5)
    assert model.distill_losses['loss_wkd_l'].wd_weight == 1.0  # 2.0 * 0.5
    assert model.get_distill_weight_scale('loss_wkd_l') == 0.5
    torch.manual_seed(1)
    half = model.loss(inputs, samples)
    for key in ('distill.loss_wkd_f', 'distill.loss_fpn', 'distill.loss_reg'):
        assert torch.allclose(half[key], 0.5 * full[key]), key
    # L_t is not scheduled: WKD-L does not halve.
    assert not torch.allclose(half['distill.loss_wkd_l'],
                              0.5 * full['distill.loss_wkd_l'])
    model.set_distill_weight_scale(1.0)  # not compounded
    assert model.distill_losses['loss_wkd_l'].wd_weight == 2.0
    with pytest.raises(ValueError, match='Unknown distillation terms'):
        model.set_distill_weight_scale(0.5, ['loss_nope'])
    with pytest.raises(ValueError, match='finite and >= 0'):
        model.set_distill_weight_scale(-1)


def test_disabled_distillation_skips_teacher_and_keeps_ddp_safe_zeros():
    model = full_distiller()
    model.set_distillation_enabled(False)
    calls = []
    model.teacher.backbone.register_forward_hook(lambda *a: calls.append(1))
    inputs, samples = make_batch(model)
    losses = model.loss(inputs, samples)
    assert not calls
    for key in ('loss_wkd_l', 'loss_wkd_f', 'loss_fpn', 'loss_reg'):
        assert losses[f'distill.{key}'].item() == 0.0
    total, _ = model.parse_losses(losses)
    total.backward()
    for name, p in model.connectors.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() == 0, name


# ----------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------
def test_state_dict_excludes_teacher_unless_asked(tmp_path):
    model = full_distiller()
    keys = list(model.state_dict())
    assert keys and not any(k.startswith('teacher.') for k in keys)
    assert any(k.startswith('student.') for k in keys)
    assert any(k.startswith('connectors.') for k in keys)
    from mmengine.runner.checkpoint import get_state_dict
    assert not any(k.startswith('teacher.') for k in get_state_dict(model))
    model.save_teacher = True
    assert any(k.startswith('teacher.') for k in model.state_dict())


def test_student_only_checkpoint_loads_into_the_distiller():
    src = full_distiller(seed=1)
    dst = full_distiller(seed=2)
    teacher_before = {
        k: v.clone()
        for k, v in dst.teacher.state_dict().items()
    }
    result = dst.load_state_dict(src.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for k, v in src.student.state_dict().items():
        assert torch.equal(dst.student.state_dict()[k], v), k
    for k, v in dst.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k])
    # mmengine's loader (used by the runner's resume) reports nothing either
    from mmengine.runner.checkpoint import load_state_dict
    load_state_dict(dst, src.state_dict(), strict=True)


def test_plain_student_state_dict_loads_into_the_distiller():
    src = build_distiller(seed=1)
    dst = build_distiller(seed=2)
    dst.load_state_dict(src.student.state_dict(), strict=True)
    for k, v in src.student.state_dict().items():
        assert torch.equal(dst.student.state_dict()[k], v), k


def test_a_missing_student_key_is_still_reported():
    model = build_distiller()
    state = model.state_dict()
    state.pop('student.backbone.conv1.weight')
    with pytest.raises(RuntimeError, match='student.backbone.conv1.weight'):
        model.load_state_dict(state, strict=True)


def test_teacher_ckpt_is_loaded_and_survives_init_weights(tmp_path):
    torch.manual_seed(5)
    from mmdet.registry import MODELS
    trained = MODELS.build(teacher_cfg())
    ckpt = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=trained.state_dict(), meta={}), ckpt)
    model = build_distiller(teacher_ckpt=str(ckpt))
    for k, v in trained.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[k], v), k
    student_before = model.student.backbone.conv1.weight.clone()
    model.init_weights()
    for k, v in trained.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[k], v), k
    assert not torch.equal(model.student.backbone.conv1.weight,
                           student_before)  # the student was initialised


def test_teacher_from_config_file_and_package_path(tmp_path):
    from mmengine.config import Config
    path = tmp_path / 'teacher_cfg.py'
    Config(dict(model=teacher_cfg(), default_scope='mmdet')).dump(str(path))
    model = build_distiller(teacher=str(path))
    assert model.teacher.backbone.base_channels == 16
    model = build_distiller(
        teacher='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
        student=tiny_detector_cfg(num_classes=80))
    assert model.teacher.backbone.depth == 50


# ----------------------------------------------------------------------
# bad input: clear error, nothing lost
# ----------------------------------------------------------------------
def test_missing_teacher_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match='teacher_ckpt .* does not'):
        build_distiller(teacher_ckpt=str(tmp_path / 'nope.pth'))


def test_corrupt_teacher_checkpoint(tmp_path):
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint at all')
    with pytest.raises(RuntimeError, match='Could not read teacher_ckpt'):
        build_distiller(teacher_ckpt=str(bad))


def test_teacher_checkpoint_with_other_keys_lists_them(tmp_path):
    from mmdet.registry import MODELS
    other = MODELS.build(teacher_cfg(fc=48))  # different RoI FC width
    ckpt = tmp_path / 'other.pth'
    state = other.state_dict()
    state['extra.weight'] = torch.zeros(1)
    del state['backbone.conv1.weight']
    torch.save(dict(state_dict=state), ckpt)
    with pytest.raises(RuntimeError) as err:
        build_distiller(teacher_ckpt=str(ckpt))
    msg = str(err.value)
    assert 'backbone.conv1.weight' in msg  # missing
    assert 'extra.weight' in msg  # unexpected
    assert 'roi_head.bbox_head.shared_fcs.0.weight' in msg  # shape
    # non-strict: loads what matches and keeps going
    model = build_distiller(
        teacher_ckpt=str(ckpt), teacher_ckpt_strict=False)
    assert torch.equal(model.teacher.neck.lateral_convs[0].conv.weight,
                       other.neck.lateral_convs[0].conv.weight)


def test_different_num_classes():
    with pytest.raises(ValueError, match='num_classes=3 .* num_classes=5'):
        build_distiller(
            teacher=teacher_cfg(num_classes=5),
            distill_losses=dict(loss_kd=RecordingLoss()),
            distill_inputs=dict(loss_kd='roi_cls'))


def _reg_distiller(teacher):
    return build_distiller(
        teacher=teacher,
        distill_losses=dict(loss_reg=RecordingLoss(with_labels=False)),
        distill_inputs=dict(loss_reg='roi_reg'))


def test_box_regression_needs_the_same_reg_decoded_bbox():
    teacher = teacher_cfg()
    teacher.roi_head.bbox_head.reg_decoded_bbox = True
    with pytest.raises(ValueError,
                       match=r'reg_decoded_bbox False vs True\); set the '
                       r"student's roi_head.bbox_head.reg_decoded_bbox to "
                       'True'):
        _reg_distiller(teacher)


@pytest.mark.parametrize('coder, match', [
    (dict(target_stds=[0.05, 0.05, 0.1, 0.1]),
     r'student bbox_coder type=.DeltaXYWHBBoxCoder., target_means=\(0.0, '
     r'0.0, 0.0, 0.0\), target_stds=\(0.1, 0.1, 0.2, 0.2\), teacher '
     r'bbox_coder .*target_stds=\(0.05, 0.05, 0.1, 0.1\)'),
    (dict(target_means=[0.1, 0.0, 0.0, 0.0]),
     r'target_means=\(0.1, 0.0, 0.0, 0.0\).*Give the student the '
     r"teacher's coder: roi_head=dict\(bbox_head=dict\(bbox_coder=dict\("),
    (dict(type='TBLRBBoxCoder', normalizer=4.0),
     r"teacher bbox_coder type='TBLRBBoxCoder'"),
])
def test_box_regression_needs_the_same_bbox_coder(coder, match):
    teacher = teacher_cfg()
    if 'type' in coder:  # another coder altogether
        teacher.roi_head.bbox_head.bbox_coder = coder
    else:
        teacher.roi_head.bbox_head.bbox_coder.update(coder)
    with pytest.raises(ValueError, match=match):
        _reg_distiller(teacher)
    # the same coder values (as a list or a tuple) are accepted
    same = teacher_cfg()
    same.roi_head.bbox_head.bbox_coder.target_stds = (0.1, 0.1, 0.2, 0.2)
    model = _reg_distiller(same)
    assert 'loss_reg' in model.distill_losses


def test_cost_matrix_of_the_wrong_size():
    wrong = torch.rand(NUM_CLASSES, NUM_CLASSES)  # 80 vs 81 for COCO
    with pytest.raises(ValueError, match=r'must be \(4, 4\).*background'):
        build_distiller(
            distill_losses=dict(
                loss_wkd_l=dict(type='mmkd.WKDLogitLoss', cost_matrix=wrong)),
            distill_inputs=dict(loss_wkd_l='roi_cls'))
    model = build_distiller(
        distill_losses=dict(loss_wkd_l=dict(type='mmkd.WKDLogitLoss')),
        distill_inputs=dict(loss_wkd_l='roi_cls'))
    with pytest.raises(ValueError, match=r'\(3, 3\) but the RoI logits'):
        model.set_cost_matrix(wrong)
    assert model.distill_losses['loss_wkd_l'].cost_matrix is None


def test_fpn_channels_differ_without_connector():
    with pytest.raises(ValueError, match='16 channels .* 32; add a connector'):
        build_distiller(
            teacher=teacher_cfg(fpn=32),
            distill_losses=dict(loss_f=RecordingLoss()),
            distill_inputs=dict(loss_f='fpn'))
    with pytest.raises(ValueError, match='16 channels .* 32; add a connector'):
        build_distiller(
            teacher=teacher_cfg(fpn=32),
            distill_losses=dict(loss_f=RecordingLoss()),
            distill_inputs=dict(loss_f='roi_feat'))


def test_fpn_level_counts_differ():
    kwargs = dict(
        teacher=teacher_cfg(num_outs=4),
        distill_losses=dict(loss_f=RecordingLoss()))
    with pytest.raises(ValueError, match='5 levels and the teacher 4'):
        build_distiller(distill_inputs=dict(loss_f='fpn'), **kwargs)
    model = build_distiller(
        distill_inputs=dict(loss_f=dict(source='fpn', levels=[0, 1, 2, 3])),
        **kwargs)
    inputs, samples = make_batch(model)
    assert torch.isfinite(model.loss(inputs, samples)['distill.loss_f'])


def test_connector_of_the_wrong_width():
    with pytest.raises(ValueError, match="Connector 'c' .* takes 8"):
        build_distiller(
            teacher=teacher_cfg(fpn=32),
            distill_losses=dict(loss_f=RecordingLoss()),
            distill_inputs=dict(loss_f=dict(source='fpn', connector='c')),
            connectors=dict(
                c=dict(type='mmkd.ConvConnector', in_channels=8,
                       out_channels=32)))


@pytest.mark.parametrize(
    'losses, inputs, match',
    [
        (dict(kd=RecordingLoss()), dict(kd='roi_cls'),
         "does not contain 'loss'"),
        (dict(loss_a=RecordingLoss()), dict(), 'no entry for the terms'),
        (dict(loss_a=RecordingLoss()), dict(loss_a='logits'),
         "valid sources: \\['roi_cls'"),
        (dict(loss_a=RecordingLoss()),
         dict(loss_a=dict(source='fpn', connector='nope')),
         "connector 'nope', which is not in"),
        (dict(loss_a=RecordingLoss()),
         dict(loss_a=dict(source='fpn', weights=[1])), 'unknown keys'),
        (dict(loss_a=RecordingLoss()),
         dict(loss_a='roi_cls', loss_b='fpn'), 'not in distill_losses'),
    ])
def test_bad_distill_config(losses, inputs, match):
    with pytest.raises(ValueError, match=match):
        build_distiller(distill_losses=losses, distill_inputs=inputs)


def test_missing_teacher_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='teacher config file'):
        build_distiller(teacher=str(tmp_path / 'nope.py'))


def test_teacher_trainable_is_refused():
    with pytest.raises(NotImplementedError, match='teacher_trainable'):
        build_distiller(teacher_trainable=True)


def test_image_without_gt_boxes():
    model = full_distiller()
    inputs, samples = make_batch(model, num_items=[0, 2])
    assert len(samples[0].gt_instances) == 0
    losses = model.loss(inputs, samples)
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()


def test_zero_foreground_rois_contribute_a_connected_zero():
    model = full_distiller()
    inputs, samples = make_batch(model, num_items=[0, 0])
    losses = model.loss(inputs, samples)
    reg = losses['distill.loss_reg']
    assert reg.item() == 0.0 and reg.requires_grad
    for key, value in losses.items():
        if 'loss' in key:
            assert finite(value), key
    total, _ = model.parse_losses(losses)
    total.backward()


def test_nan_teacher_logits_are_skipped_and_counted():
    model = full_distiller()
    bad_rows = torch.tensor([0, 3, 5])

    def poison(module, args, output):
        output = output.clone()
        output[bad_rows, 1] = math.nan
        output[bad_rows, 0] = math.inf
        return output

    handle = model.teacher.roi_head.bbox_head.fc_cls.register_forward_hook(
        poison)
    inputs, samples = make_batch(model)
    losses = model.loss(inputs, samples)
    assert losses['distill.nonfinite_teacher'].item() == 3
    assert model.nonfinite_skipped == 3
    for key, value in losses.items():
        if 'loss' in key:
            assert finite(value), key
    handle.remove()

    # every row non-finite: zero contribution, still finite
    def poison_all(module, args, output):
        return torch.full_like(output, math.nan)

    model.teacher.roi_head.bbox_head.fc_cls.register_forward_hook(poison_all)
    losses = model.loss(inputs, samples)
    assert losses['distill.loss_wkd_l'].item() == 0.0
    assert losses['distill.loss_wkd_f'].item() == 0.0
    assert losses['distill.loss_reg'].item() == 0.0
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)


def test_nan_teacher_fpn_level_is_skipped():
    model = full_distiller()

    def poison(module, args, output):
        out = list(output)
        out[2] = torch.full_like(out[2], math.nan)
        return tuple(out)

    model.teacher.neck.register_forward_hook(poison)
    inputs, samples = make_batch(model)
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['distill.loss_fpn'])
    # The level is skipped and counted (plus any RoI pooled from it).
    assert losses['distill.nonfinite_teacher'].item() >= 1
    assert model.nonfinite_skipped >= 1
    for key, value in losses.items():
        if 'loss' in key:
            assert finite(value), key


def test_distill_terms_run_in_float32_outside_autocast(monkeypatch):
    """``--amp``: the student/teacher may run in reduced precision, the
    distillation terms never do."""
    model, rec = recorder_distiller()
    inputs, samples = make_batch(model)
    x_s = model.student.extract_feat(inputs)
    rpn = model._student_rpn(x_s, samples, {})
    sampling = model.sample_rois(x_s, rpn, samples)
    roi = model._student_roi(x_s, sampling, samples, {})
    roi = {
        k: v.to(torch.bfloat16) if v.is_floating_point() else v
        for k, v in roi.items()
    }
    # mmcv's CPU RoIAlign has no bfloat16 kernel (CUDA has half): run the
    # teacher's extractor in float32 and hand back bfloat16, as on a GPU.
    extractor = model.teacher.roi_head.bbox_roi_extractor
    original = extractor.forward

    def half_roi_align(feats, rois, *args, **kwargs):
        with torch.autocast('cpu', enabled=False):
            out = original([f.float() for f in feats], rois.float(), *args,
                           **kwargs)
        return out.to(torch.bfloat16)

    monkeypatch.setattr(extractor, 'forward', half_roi_align)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert torch.is_autocast_enabled('cpu')
        out = model.distill_step(
            StepContext(inputs, x_s[0], dict(x_s=x_s, roi=roi), samples))
    call = rec.calls[-1]
    assert call['s'].dtype == torch.float32
    assert call['t'].dtype == torch.float32
    assert call['autocast'] is False
    assert out['loss_rec'].dtype == torch.float32
    assert torch.isfinite(out['loss_rec'])


def test_caffe_style_teacher_sees_its_own_normalisation():
    caffe = teacher_cfg()
    caffe.data_preprocessor.update(
        mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)
    model = build_distiller(teacher=caffe)
    from mmdet.testing import demo_mm_inputs
    packed = demo_mm_inputs(
        batch_size=1, image_shapes=[(3, 64, 64)], num_classes=NUM_CLASSES)
    s_inputs = model.data_preprocessor(packed, False)['inputs']
    t_inputs = model.teacher.data_preprocessor(packed, False)['inputs']
    assert not torch.allclose(s_inputs, t_inputs)
    assert torch.allclose(model.teacher_inputs(s_inputs), t_inputs,
                          atol=1e-4)
    same = build_distiller()
    assert same.teacher_inputs(s_inputs) is s_inputs


def test_foreground_only_roi_terms():
    rec_all, rec_fg = RecordingLoss(), RecordingLoss()
    model = build_distiller(
        distill_losses=dict(loss_all=rec_all, loss_fg=rec_fg),
        distill_inputs=dict(
            loss_all='roi_cls', loss_fg=dict(source='roi_cls', rois='fg')))
    inputs, samples = make_batch(model)
    model.loss(inputs, samples)
    labels = rec_all.calls[-1]['labels']
    fg = labels < NUM_CLASSES
    assert 0 < int(fg.sum()) < labels.numel()
    assert torch.equal(rec_fg.calls[-1]['labels'], labels[fg])
    assert torch.equal(rec_fg.calls[-1]['t'], rec_all.calls[-1]['t'][fg])
    with pytest.raises(ValueError, match=r"must be one of \('all', 'fg'\)"):
        build_distiller(
            distill_losses=dict(loss_a=RecordingLoss()),
            distill_inputs=dict(loss_a=dict(source='roi_cls', rois='bg')))
    with pytest.raises(ValueError, match="'rois' applies to sources 'roi_cls' "
                       "and 'roi_feat', not 'fpn'"):
        build_distiller(
            distill_losses=dict(loss_a=RecordingLoss()),
            distill_inputs=dict(loss_a=dict(source='fpn', rois='fg')))
