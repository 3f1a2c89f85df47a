# Copyright (c) OpenMMLab. All rights reserved.
"""ClassificationDistiller on tiny mmpretrain classifiers (CPU, ms)."""
import copy

import pytest
import torch
import torch.nn as nn

NUM_CLASSES = 5


@pytest.fixture(scope='module', autouse=True)
def _register():
    import mmpretrain.models  # noqa: F401

    import mmkd.losses  # noqa: F401
    import mmkd.models  # noqa: F401
    import mmkd.models.distillers.classification_distiller  # noqa: F401


def classifier_cfg(width: int = 8, num_classes: int = NUM_CLASSES) -> dict:
    """A ResNet_CIFAR-18 classifier with stage widths (w, 2w, 4w, 8w)."""
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        data_preprocessor=dict(
            type='ClsDataPreprocessor',
            num_classes=num_classes,
            mean=[127.5] * 3,
            std=[127.5] * 3),
        backbone=dict(
            type='ResNet_CIFAR',
            depth=18,
            stem_channels=width,
            base_channels=width,
            strides=(1, 2, 2, 1),
            out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=8 * width,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


def cost(n: int = NUM_CLASSES, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    m = torch.rand(n, n, generator=gen)
    m = (m + m.t()) / 2
    m.fill_diagonal_(0)
    return m


def wkd_l(**kwargs) -> dict:
    cfg = dict(
        type='mmkd.WKDLogitLoss',
        cost_matrix=cost(),
        temperature=2.0,
        wd_weight=3.0)
    cfg.update(kwargs)
    return cfg


def wkd_f(**kwargs) -> dict:
    cfg = dict(type='mmkd.WKDFeatureLoss', grid=2, loss_weight=0.5)
    cfg.update(kwargs)
    return cfg


def projector(c_in: int = 64, c_out: int = 128) -> dict:
    return dict(
        type='mmkd.BottleneckProjector',
        in_channels=c_in,
        out_channels=c_out,
        mid_channels=16)


METHODS = {
    'wkd-l': dict(
        distill_losses=dict(loss_wkd_l=wkd_l()),
        distill_inputs=dict(loss_wkd_l='logits')),
    'wkd-f': dict(
        distill_losses=dict(loss_wkd_f=wkd_f()),
        distill_inputs=dict(
            loss_wkd_f=dict(source='feature', connector='proj')),
        connectors=dict(proj=projector())),
    'wkd-lf': dict(
        distill_losses=dict(loss_wkd_l=wkd_l(), loss_wkd_f=wkd_f()),
        distill_inputs=dict(
            loss_wkd_l='logits',
            loss_wkd_f=dict(source='feature', connector='proj')),
        connectors=dict(proj=projector())),
    'kd': dict(
        distill_losses=dict(
            loss_kd=dict(type='mmkd.KDLoss', temperature=4.0)),
        distill_inputs=dict(loss_kd='logits')),
    'dkd': dict(
        distill_losses=dict(
            loss_dkd=dict(
                type='mmkd.DKDLoss', alpha=1.0, beta=0.5, temperature=1.0)),
        distill_inputs=dict(loss_dkd='logits')),
}


def build(method: str = 'wkd-lf', seed: int = 0, student=None, teacher=None,
          **kwargs):
    from mmkd.models.distillers.classification_distiller import \
        ClassificationDistiller
    torch.manual_seed(seed)
    cfg = copy.deepcopy(METHODS[method]) if method else {}
    cfg.update(kwargs)
    return ClassificationDistiller(
        student=student if student is not None else classifier_cfg(8),
        teacher=teacher if teacher is not None else classifier_cfg(16),
        **cfg)


def batch(model, n: int = 4, size: int = 16, seed: int = 1,
          soft: bool = False):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(n):
        sample = DataSample().set_gt_label(i % NUM_CLASSES)
        if soft:
            score = torch.rand(NUM_CLASSES, generator=gen)
            sample.set_gt_score(score / score.sum())
        samples.append(sample)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, size, size), generator=gen).byte()
            for _ in range(n)
        ],
        data_samples=samples)
    data = model.data_preprocessor(data, True)
    return data['inputs'], data['data_samples']


def _hook_count(module: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in module.modules())


@pytest.mark.parametrize('method', list(METHODS))
def test_every_method_gives_prefixed_finite_losses_and_gradients(method):
    model = build(method)
    inputs, samples = batch(model)
    losses = model(inputs, samples, mode='loss')
    terms = {f'distill.{k}' for k in METHODS[method]['distill_losses']}
    assert set(losses) == {'student.loss'} | terms
    for key in terms:
        assert losses[key].dtype == torch.float32
        value = losses[key].detach()
        assert torch.isfinite(value) and float(value) > 0
    total, _ = model.parse_losses(losses)
    total.backward()
    assert all(p.grad is not None for p in model.student.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())
    for param in model.connectors.parameters():
        assert param.grad is not None


def test_student_loss_equals_plain_mmpretrain_and_teacher_is_untouched():
    from mmpretrain.registry import MODELS
    model = build('wkd-lf')
    plain = MODELS.build(classifier_cfg(8))
    plain.load_state_dict(model.student.state_dict())
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    model.train()
    plain.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    expected = plain.loss(inputs, samples)['loss']
    torch.testing.assert_close(losses['student.loss'], expected)
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key]), key


def test_recorded_tensors_are_logits_and_last_stage_post_relu():
    model = build('wkd-lf')
    model.eval()  # deterministic BN for the comparison
    inputs, _ = batch(model)
    rec = model._recorders['student']
    with rec.recording():
        logits = model.student(inputs, mode='tensor')
    out = model._outputs('student', rec)  # stages as maps
    torch.testing.assert_close(out['__logits__'], logits)
    last = model.student.backbone.layer4(
        model.student.backbone.layer3(
            model.student.backbone.layer2(
                model.student.backbone.layer1(
                    model.student.backbone.relu(
                        model.student.backbone.norm1(
                            model.student.backbone.conv1(inputs)))))))
    torch.testing.assert_close(out[None], last)
    assert float(out[None].detach().min()) >= 0  # post-ReLU
    assert tuple(out[None].shape) == (4, 64, 4, 4)
    s_shapes, t_shapes = model.recorded_shapes(inputs)
    assert s_shapes == {'__logits__': (4, NUM_CLASSES), None: (4, 64, 4, 4)}
    assert t_shapes == {'__logits__': (4, NUM_CLASSES),
                        None: (4, 128, 4, 4)}


def test_hooks_exist_only_during_a_forward():
    model = build('wkd-lf')
    inputs, samples = batch(model)
    assert _hook_count(model) == 0
    model.loss(inputs, samples)
    assert _hook_count(model) == 0
    rec = model._recorders['student']
    with pytest.raises(RuntimeError, match='boom'):
        with rec.recording():
            assert rec.num_hooks == 2
            raise RuntimeError('boom')
    assert rec.num_hooks == 0 and _hook_count(model) == 0


def test_named_stage_and_connector_on_it():
    model = build(
        'wkd-f',
        distill_inputs=dict(
            loss_wkd_f=dict(
                source='feature',
                connector='proj',
                student_stage='layer3',
                teacher_stage='layer3')),
        connectors=dict(proj=projector(32, 64)))
    inputs, samples = batch(model)
    s_shapes, t_shapes = model.recorded_shapes(inputs)
    assert s_shapes['layer3'] == (4, 32, 4, 4)
    assert t_shapes['layer3'] == (4, 64, 4, 4)
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['distill.loss_wkd_f'])


def test_wkd_l_value_and_label_passing_match_the_functional():
    from mmkd.losses import wkd_logit_loss
    model = build('wkd-l')
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    model.eval()
    with torch.no_grad():
        t_logits = model.teacher(inputs, mode='tensor')
    labels = torch.cat([s.gt_label for s in samples])
    # the student forward of ``loss`` ran in train mode: recompute it so
    with torch.no_grad():
        model.student.train()
        rec = model._recorders['student']
        with rec.recording():
            model.student.loss(inputs, samples)
        s_logits = rec.outputs['__logits__']
    expected = wkd_logit_loss(
        s_logits, t_logits, cost(), labels, temperature=2.0, wd_weight=3.0)
    torch.testing.assert_close(losses['distill.loss_wkd_l'].detach(),
                               expected)


def test_soft_labels_are_refused_for_target_separation():
    model = build('wkd-l')
    inputs, samples = batch(model, soft=True)
    with pytest.raises(ValueError, match=r"soft gt_score.*'argmax'"):
        model.loss(inputs, samples)
    argmax = build(
        'wkd-l',
        distill_inputs=dict(loss_wkd_l=dict(source='logits',
                                            labels='argmax')))
    assert torch.isfinite(argmax.loss(inputs, samples)['distill.loss_wkd_l'])
    none = build(
        'wkd-l',
        distill_inputs=dict(loss_wkd_l=dict(source='logits', labels='none')))
    assert torch.isfinite(none.loss(inputs, samples)['distill.loss_wkd_l'])
    with pytest.raises(ValueError, match="labels='none' but DKDLoss"):
        build('dkd',
              distill_inputs=dict(loss_dkd=dict(source='logits',
                                                labels='none')))


def test_class_counts_differ():
    with pytest.raises(ValueError, match=r'num_classes=5.*num_classes=7'):
        build('kd', teacher=classifier_cfg(16, num_classes=7))


def test_unknown_stage_lists_the_valid_names():
    with pytest.raises(ValueError) as err:
        build('wkd-f',
              distill_inputs=dict(
                  loss_wkd_f=dict(source='feature', connector='proj',
                                  student_stage='layer5')))
    msg = str(err.value)
    assert "no module 'layer5'" in msg
    for name in ('conv1', 'layer1', 'layer2', 'layer3', 'layer4'):
        assert name in msg
    assert "['layer1', 'layer2', 'layer3', 'layer4']" in msg


def test_projector_needed_but_missing():
    with pytest.raises(ValueError, match=r"has 64 channels and the teacher's "
                       r'128; add a connector \(a projector\).*'
                       r'in_channels=64, out_channels=128'):
        build('wkd-f', distill_inputs=dict(loss_wkd_f='feature'),
              connectors=None)


def test_projector_missing_is_caught_on_the_first_batch_without_probe():
    model = build('wkd-f', distill_inputs=dict(loss_wkd_f='feature'),
                  connectors=None, probe_size=None)
    inputs, samples = batch(model)
    with pytest.raises(ValueError, match=r'add a connector \(a projector\)'):
        model.loss(inputs, samples)


def test_connector_of_the_wrong_width():
    with pytest.raises(ValueError, match=r"'proj'.*gives 96 channels.*128"):
        build('wkd-f', connectors=dict(proj=projector(64, 96)))


def test_cost_matrix_size_differs_from_num_classes():
    with pytest.raises(ValueError, match=r'shape \(4, 4\).*num_classes=5'):
        build('wkd-l',
              distill_losses=dict(loss_wkd_l=wkd_l(cost_matrix=cost(4))))
    model = build('wkd-l')
    with pytest.raises(ValueError, match=r'shape \(6, 6\).*num_classes=5'):
        model.set_cost_matrix(cost(6))
    assert model.set_cost_matrix(cost(seed=3)) == ['loss_wkd_l']
    torch.testing.assert_close(model.distill_losses.loss_wkd_l.cost_matrix,
                               cost(seed=3))


@pytest.mark.parametrize(
    'inputs, match',
    [(dict(), 'no entry for the terms'),
     (dict(loss_wkd_l='roi_cls'), 'valid sources'),
     (dict(loss_wkd_l=dict(source='feature', connector='proj')),
      'not in connectors'),
     (dict(loss_wkd_l=dict(source='logits', connector='proj')),
      "'connector' applies to sources 'feature' and 'pooled', not "
      "'logits'"),
     (dict(loss_wkd_l=dict(source='logits', grid=2)), 'unknown keys'),
     (dict(loss_wkd_l=dict(source='logits', labels='soft')),
      r"\['labels'\] must be one of \('hard', 'argmax', 'none'\)")])
def test_bad_distill_inputs(inputs, match):
    with pytest.raises(ValueError, match=match):
        build('wkd-l', distill_inputs=inputs)


def test_teacher_stays_in_eval_mode_and_teacher_trainable_is_refused():
    model = build('kd')
    model.train()
    assert model.student.training and not model.teacher.training
    with pytest.raises(NotImplementedError, match='BDKDOnlineDistiller'):
        build('kd', teacher_trainable=True)


def test_predict_and_tensor_modes_delegate_to_the_student():
    model = build('kd')
    model.eval()
    inputs, samples = batch(model)
    torch.testing.assert_close(
        model(inputs, samples, mode='tensor'),
        model.student(inputs, samples, mode='tensor'))
    preds = model(inputs, copy.deepcopy(samples), mode='predict')
    expected = model.student(inputs, copy.deepcopy(samples), mode='predict')
    for a, b in zip(preds, expected):
        torch.testing.assert_close(a.pred_score, b.pred_score)
    assert _hook_count(model) == 0


def test_weight_scale_scales_lambda_of_wkd_l_and_the_whole_feature_term():
    model = build('wkd-lf')
    model.eval()
    inputs, samples = batch(model)
    full = model.loss(inputs, samples)
    model.set_distill_weight_scale(0.0)
    assert model.distill_losses.loss_wkd_l.wd_weight == 0.0
    scaled = model.loss(inputs, samples)
    assert float(scaled['distill.loss_wkd_f']) == 0.0
    # L_t remains: WKD-L with lambda = 0 is the target term alone
    assert 0 < float(scaled['distill.loss_wkd_l']) < float(
        full['distill.loss_wkd_l'])


def test_disabled_distillation_skips_teacher_and_keeps_ddp_safe_zeros():
    model = build('wkd-lf')
    model.set_distillation_enabled(False)
    calls = []
    handle = model.teacher.register_forward_hook(
        lambda *args: calls.append(1))
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    handle.remove()
    assert calls == []
    for key in ('distill.loss_wkd_l', 'distill.loss_wkd_f'):
        assert float(losses[key]) == 0.0 and losses[key].requires_grad
    total, _ = model.parse_losses(losses)
    total.backward()
    assert all(p.grad is not None for p in model.connectors.parameters())


def test_distill_terms_run_in_float32_outside_autocast():
    model = build('wkd-lf')
    inputs, samples = batch(model)
    seen = []
    for loss in model.distill_losses.values():
        loss.register_forward_pre_hook(lambda m, args: seen.append(
            (torch.is_autocast_enabled('cpu'), args[0].dtype, args[1].dtype)))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    assert seen and all(s == (False, torch.float32, torch.float32)
                        for s in seen)
    assert losses['distill.loss_wkd_l'].dtype == torch.float32


def test_state_dict_and_student_export_round_trip(tmp_path):
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS

    from mmkd.apis import export_student
    model = build('wkd-lf')
    state = model.state_dict()
    assert not any(k.startswith('teacher.') for k in state)
    assert any(k.startswith('connectors.') for k in state)
    out = export_student(
        dict(state_dict=state, meta=dict(epoch=1)),
        str(tmp_path / 'student.pth'),
        student=MODELS.build(classifier_cfg(8)))
    plain = MODELS.build(classifier_cfg(8))
    load_checkpoint(plain, out, map_location='cpu', strict=True)
    ckpt = torch.load(out, map_location='cpu', weights_only=True)
    assert not any(k.startswith(('connectors.', 'student.'))
                   for k in ckpt['state_dict'])
    model.eval()
    plain.eval()
    inputs, _ = batch(model)
    torch.testing.assert_close(
        plain(inputs, mode='tensor'), model(inputs, mode='tensor'))
    # and a student-only checkpoint loads back into a distiller
    fresh = build('wkd-lf', seed=5)
    fresh.load_state_dict(ckpt['state_dict'], strict=False)
    fresh.eval()
    torch.testing.assert_close(
        fresh(inputs, mode='tensor'), model(inputs, mode='tensor'))


def test_teacher_ckpt_is_loaded(tmp_path):
    from mmpretrain.registry import MODELS
    torch.manual_seed(7)
    teacher = MODELS.build(classifier_cfg(16))
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), path)
    model = build('kd', teacher_ckpt=path)
    model.init_weights()
    for key, value in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value), key


def test_data_preprocessor_dict_without_type_becomes_cls_preprocessor():
    model = build(
        'kd',
        data_preprocessor=dict(
            num_classes=NUM_CLASSES, mean=[0.] * 3, std=[255.] * 3))
    assert type(model.data_preprocessor).__name__ == 'ClsDataPreprocessor'


def test_student_mixup_is_kept_and_refused_by_target_separation():
    student = classifier_cfg(8)
    student['train_cfg'] = dict(
        augments=[dict(type='Mixup', alpha=0.8)])
    model = build(
        'wkd-l',
        student=student,
        data_preprocessor=dict(
            num_classes=NUM_CLASSES, mean=[127.5] * 3, std=[127.5] * 3))
    assert model.data_preprocessor is not model.student.data_preprocessor
    assert model.data_preprocessor.batch_augments is \
        model.student.data_preprocessor.batch_augments
    inputs, samples = batch(model)
    assert 'gt_score' in samples[0]
    with pytest.raises(ValueError, match='soft gt_score'):
        model.loss(inputs, samples)


def _raw_batch(n: int = 2, size: int = 16, seed: int = 3) -> dict:
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(seed)
    return dict(
        inputs=[
            torch.randint(0, 256, (3, size, size), generator=gen).byte()
            for _ in range(n)
        ],
        data_samples=[DataSample().set_gt_label(i) for i in range(n)])


def test_teacher_sees_its_own_normalisation():
    """A teacher configured with another normalisation (here BGR, std 1)
    gets the student's batch converted to it; a teacher whose model config
    carries no normalisation (mmpretrain keeps it at the top level) gets
    the student's batch as is."""
    teacher = classifier_cfg(16)
    teacher['data_preprocessor'].update(
        mean=[103.53, 116.28, 123.675], std=[1.0] * 3, to_rgb=False)
    student = classifier_cfg(8)
    student['data_preprocessor']['to_rgb'] = True
    model = build('kd', student=student, teacher=teacher)
    data = _raw_batch()
    s_inputs = model.data_preprocessor(copy.deepcopy(data), False)['inputs']
    t_inputs = model.teacher.data_preprocessor(data, False)['inputs']
    assert not torch.allclose(s_inputs, t_inputs)
    torch.testing.assert_close(
        model.teacher_inputs(s_inputs), t_inputs, atol=1e-4, rtol=0)
    # the teacher forward (and so the distillation terms) uses it
    seen = []
    handle = model.teacher.backbone.register_forward_pre_hook(
        lambda module, args: seen.append(args[0]))
    try:
        model.teacher_forward(s_inputs)
    finally:
        handle.remove()
    torch.testing.assert_close(seen[0], t_inputs, atol=1e-4, rtol=0)

    unset = classifier_cfg(16)
    del unset['data_preprocessor']
    assert build('kd', teacher=unset).teacher_inputs(s_inputs) is s_inputs
    assert build('kd').teacher_inputs(s_inputs) is s_inputs


def test_teacher_config_file_gets_its_top_level_data_preprocessor(tmp_path):
    """mmpretrain configs keep the normalisation at the top level; a
    teacher read from a config file gets it, as the Runner would give it."""
    teacher = classifier_cfg(16)
    preproc = teacher.pop('data_preprocessor')
    preproc.pop('type')
    path = tmp_path / 'teacher.py'
    path.write_text(f'model = {teacher!r}\ndata_preprocessor = {preproc!r}\n')
    model = build('kd', teacher=str(path))
    t_pre = model.teacher.data_preprocessor
    assert type(t_pre).__name__ == 'ClsDataPreprocessor'
    torch.testing.assert_close(t_pre.mean.flatten(), torch.full((3, ), 127.5))


# ----------------------------------------------------------------------
# KDDM on the pooled penultimate features (the 'pooled' source)
# ----------------------------------------------------------------------
#: The KDDM slides' table (docs/methods.md section 6) as KDDMLoss settings.
KDDM_METRICS = {
    'w2-e': dict(metric='wasserstein'),
    'cw2-e': dict(metric='wasserstein', conditional=True),
    'jw2-e': dict(metric='joint_wasserstein', beta=0.5),
    'w2-g': dict(metric='gaussian_wasserstein'),
    'cw2-g': dict(metric='gaussian_wasserstein', conditional=True),
    'kl-g': dict(metric='gaussian_kl', covariance='full', shrinkage=0.1),
    'mmd-rbf': dict(metric='mmd', kernel='rbf'),
}


def build_kddm(metric: str = 'w2-e', labels=None, **kwargs):
    spec = dict(source='pooled', connector='fc')
    if labels is not None:
        spec['labels'] = labels
    cfg = dict(
        distill_losses=dict(
            loss_kddm=dict(
                type='mmkd.KDDMLoss', loss_weight=0.7,
                **KDDM_METRICS[metric])),
        distill_inputs=dict(loss_kddm=spec),
        connectors=dict(
            fc=dict(type='mmkd.LinearConnector', in_channels=64,
                    out_channels=128)))
    cfg.update(kwargs)
    return build(None, **cfg)


@pytest.mark.parametrize('metric', list(KDDM_METRICS))
def test_kddm_term_equals_the_functional_on_the_neck_outputs(metric):
    """Every KDDM metric reads the neck outputs (student through the
    connector), the labels when conditional and the logits when joint; its
    value matches kddm_distance on independently computed features, and
    its gradient reaches the student and the connector only."""
    from mmkd.losses.kddm_loss import kddm_distance
    model = build_kddm(metric)
    inputs, samples = batch(model, n=10)
    model.train()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'student.loss', 'distill.loss_kddm'}
    value = losses['distill.loss_kddm']
    assert value.dtype == torch.float32 and torch.isfinite(value)
    assert float(value) > 0

    with torch.no_grad():
        # train-mode BN uses batch statistics, so the same batch gives the
        # same student features as inside ``loss``
        s_feat = model.student.extract_feat(inputs)[-1]
        s_logits = model.student.head(model.student.extract_feat(inputs))
        t_feat = model.teacher.extract_feat(inputs)[-1]
        t_logits = model.teacher(inputs, mode='tensor')
        s_feat = model.connectors.fc(s_feat)
    assert s_feat.shape == t_feat.shape == (10, 128)
    labels = torch.cat([s.gt_label for s in samples])
    expected = 0.7 * kddm_distance(
        s_feat, t_feat, labels, s_logits, t_logits,
        **{k: v for k, v in KDDM_METRICS[metric].items()})
    torch.testing.assert_close(value.detach(), expected, rtol=1e-4,
                               atol=1e-5)

    value.backward()
    assert all(p.grad is not None for p in model.connectors.parameters())
    assert model.student.backbone.conv1.weight.grad is not None
    assert all(p.grad is None for p in model.teacher.parameters())
    assert _hook_count(model) == 0


def test_kddm_labels_only_when_the_metric_needs_them():
    """Mixup's soft labels do not matter to an unconditional metric; a
    conditional one refuses them under 'hard' and takes their argmax."""
    inputs, samples = batch(build_kddm(), n=6, soft=True)
    assert 'gt_score' in samples[0]
    assert torch.isfinite(
        build_kddm('w2-e').loss(inputs, samples)['distill.loss_kddm'])
    with pytest.raises(ValueError, match='soft gt_score'):
        build_kddm('cw2-e').loss(inputs, samples)
    argmax = build_kddm('cw2-e', labels='argmax')
    assert torch.isfinite(argmax.loss(inputs, samples)['distill.loss_kddm'])
    with pytest.raises(ValueError, match="labels='none' but KDDMLoss"):
        build_kddm('cw2-e', labels='none')
    # an unconditional metric may drop the labels explicitly
    assert torch.isfinite(
        build_kddm('w2-e', labels='none').loss(inputs,
                                               samples)['distill.loss_kddm'])


def test_kddm_recorded_pooled_features_are_the_neck_output():
    model = build_kddm()
    model.eval()
    inputs, _ = batch(model)
    s_shapes, t_shapes = model.recorded_shapes(inputs)
    assert s_shapes == {'__logits__': (4, NUM_CLASSES), '__pooled__': (4, 64)}
    assert t_shapes == {'__logits__': (4, NUM_CLASSES),
                        '__pooled__': (4, 128)}
    rec = model._recorders['student']
    with rec.recording():
        model.student(inputs, mode='tensor')
    torch.testing.assert_close(rec.outputs['__pooled__'],
                               model.student.extract_feat(inputs)[-1])


def test_kddm_bad_configs_name_the_fix():
    with pytest.raises(ValueError, match=r"64 channels and the teacher's 128.*"
                       r"mmkd.LinearConnector', in_channels=64"):
        build_kddm(distill_inputs=dict(loss_kddm='pooled'), connectors=None)
    no_neck = classifier_cfg(8)
    del no_neck['neck']
    with pytest.raises(ValueError, match=r"student has no neck.*"
                       r"GlobalAveragePooling"):
        build_kddm(student=no_neck)
    with pytest.raises(ValueError, match=r"'student_stage' applies to source "
                       r"'feature', not 'pooled'"):
        build_kddm(distill_inputs=dict(
            loss_kddm=dict(source='pooled', student_stage='layer3')))
    # the joint metric compares logits, so the classes must agree
    with pytest.raises(ValueError, match=r'num_classes=5.*num_classes=7'):
        build_kddm('jw2-e', teacher=classifier_cfg(16, num_classes=7))
    assert build_kddm('w2-e', teacher=classifier_cfg(16, num_classes=7))
