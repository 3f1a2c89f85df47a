# Copyright (c) OpenMMLab. All rights reserved.
"""Every ImageNet config parses, builds without downloading weights and
trains one step on a tiny batch at reduced resolution."""
import copy
import glob
import importlib
import os.path as osp

import pytest
import torch
from kddm_variants import KDDM
from mmengine.config import Config, ConfigDict

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'imagenet')
DISTILL = sorted(
    osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*_in1k.py'))
    if '-to-' in osp.basename(p))
# 160 px gives 5 x 5 last-stage maps: the smallest size where WKD-F's 4 x 4
# grid has at least 2 positions per cell.
SIZE = 160

#: (tau, kappa, lambda) of WKD-L and w_F of WKD-F, docs/methods.md sections 1-2.
EXPECTED = {
    'wkd-l_resnet34-to-resnet18': dict(wkd_l=(2.0, 1.0, 30.0)),
    'wkd-f_resnet34-to-resnet18': dict(w_f=0.02),
    'wkd-lf_resnet34-to-resnet18': dict(wkd_l=(2.0, 1.0, 10.0), w_f=1.0),
    'wkd-l_resnet50-to-mobilenetv1': dict(wkd_l=(2.0, 2.0, 25.0)),
    'wkd-f_resnet50-to-mobilenetv1': dict(w_f=0.005),
    'wkd-lf_resnet50-to-mobilenetv1': dict(wkd_l=(2.0, 2.0, 25.0),
                                           w_f=0.005),
    'ban-wkd-l_resnet18-to-resnet18': dict(wkd_l=(2.0, None, 30.0)),
}

#: (alpha, beta, tau) of the DKD baselines: mdistiller's
#: configs/imagenet/r34_r18/dkd.yaml (BETA 0.5, T 1) and
#: configs/imagenet/r50_mv1/dkd.yaml (BETA 2.0, T 1); ALPHA is its default
#: 1.0 (mdistiller/engine/cfg.py), CE_WEIGHT 1.0 in both.
DKD_EXPECTED = {
    'dkd_resnet34-to-resnet18': (1.0, 0.5, 1.0),
    'dkd_resnet50-to-mobilenetv1': (1.0, 2.0, 1.0),
}

#: (student, teacher) channels of the last stage, where WKD-F applies the
#: official bottleneck projector (WKD.PROJECTOR 'bottleneck' in every
#: ImageNet setting, equal widths included).
WKD_F_WIDTHS = {
    'resnet34-to-resnet18': (512, 512),
    'resnet50-to-mobilenetv1': (1024, 2048),
}


@pytest.fixture(scope='module', autouse=True)
def _register():
    import mmpretrain.models  # noqa: F401


def _load(name: str) -> Config:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    for module in cfg.get('custom_imports', {}).get('imports', []):
        importlib.import_module(module)
    return cfg


def _strip_init_cfg(node) -> None:
    """Drop every ``init_cfg`` (pretrained weights) in a model config."""
    if isinstance(node, (dict, ConfigDict)):
        node.pop('init_cfg', None)
        node.pop('pretrained', None)
        for value in node.values():
            _strip_init_cfg(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _strip_init_cfg(value)


def _fake_cost(n: int = 1000) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    m = 0.95 + 0.03 * torch.rand(n, n, generator=gen)
    m = (m + m.t()) / 2
    m.fill_diagonal_(0)
    return m


def _build(cfg: Config):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    if 'teacher' in model_cfg:
        # the configs name the model-zoo teacher; never download it here
        assert model_cfg.teacher_ckpt.startswith('https://')
        model_cfg.teacher_ckpt = None
        for loss in model_cfg.distill_losses.values():
            if 'cost_matrix' in loss:
                assert loss.cost_matrix.startswith(
                    'data/cost_matrices/imagenet/')
                loss.cost_matrix = _fake_cost()
    # the runner passes the top-level data_preprocessor to the model
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    _strip_init_cfg(model_cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        torch.manual_seed(0)
        return MODELS.build(model_cfg)


def _batch(model, n: int = 2):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(0)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, SIZE, SIZE), generator=gen).byte()
            for _ in range(n)
        ],
        data_samples=[DataSample().set_gt_label(7 * i + 3) for i in range(n)])
    data = model.data_preprocessor(data, True)
    return data['inputs'], data['data_samples']


def test_every_pair_and_method_has_a_config():
    names = {n.split('_8xb32')[0] for n in DISTILL}
    for method in ('wkd-l', 'wkd-f', 'wkd-lf', 'kd', 'dkd'):
        for pair in ('resnet34-to-resnet18', 'resnet50-to-mobilenetv1'):
            assert f'{method}_{pair}' in names
    assert 'ban-wkd-l_resnet18-to-resnet18' in names
    for stem in KDDM:
        assert f'{stem}_resnet34-to-resnet18' in names


@pytest.mark.parametrize('stem', list(KDDM))
def test_kddm_configs_match_the_slides_table_and_protocol(stem):
    cfg = _load(f'{stem}_resnet34-to-resnet18_8xb32-15e_in1k.py')
    loss = cfg.model.distill_losses.loss_kddm
    metric, conditional = KDDM[stem]
    assert (loss.type, loss.metric, loss.get('conditional', False)) == (
        'mmkd.KDDMLoss', metric, conditional)
    # pooled penultimate features, 512-d on both sides: no connector
    assert cfg.model.distill_inputs.loss_kddm == 'pooled'
    if conditional:
        assert loss.class_reduction == 'mean'
    # the public code's protocol: fine-tune the trained student for 15
    # epochs (cosine) with lambda 1e-4 (MMD: the toy config's lambda)
    init = cfg.model.student.init_cfg
    assert init.type == 'Pretrained'
    assert init.checkpoint.endswith('resnet18_8xb32_in1k_20210831-fbbb1da6.pth')
    assert cfg.train_cfg.max_epochs == 15
    assert cfg.param_scheduler.type == 'CosineAnnealingLR'
    assert cfg.param_scheduler.T_max == 15
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    if metric == 'mmd':
        toy = Config.fromfile(
            osp.join(ROOT, 'configs', 'toy_digits_cls',
                     'kddm-mmd_r18-w16-to-r18-w8_toy-digits-cls.py'))
        assert loss.loss_weight == \
            toy.model.distill_losses.loss_kddm.loss_weight
    else:
        assert loss.loss_weight == 1e-4


@pytest.mark.parametrize('name', DISTILL)
def test_recipe_and_hyper_parameters(name):
    cfg = _load(name)
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.train_dataloader.batch_size == 32  # x 8 GPUs = 256
    if not name.startswith('kddm-'):  # KDDM fine-tunes, see above
        assert cfg.train_cfg.max_epochs == 100
        opt = cfg.optim_wrapper.optimizer
        assert (opt.type, opt.lr, opt.momentum, opt.weight_decay,
                opt.nesterov) == ('SGD', 0.1, 0.9, 1e-4, True)
        assert cfg.param_scheduler.milestones == [30, 60, 90]
    assert cfg.model.type == 'mmkd.ClassificationDistiller'
    assert cfg.model.teacher.startswith('mmpretrain::resnet/')
    hooks = [h.type for h in cfg.custom_hooks]
    assert 'mmkd.StudentCheckpointHook' in hooks
    losses = cfg.model.distill_losses
    expected = EXPECTED.get(name.split('_8xb32')[0], {})
    if 'wkd_l' in expected:
        tau, kappa, lam = expected['wkd_l']
        wkd = losses.loss_wkd_l
        assert (wkd.temperature, wkd.get('kappa'), wkd.wd_weight) == (
            tau, kappa, lam)
        assert (wkd.sinkhorn_reg, wkd.sinkhorn_iters) == (0.05, 10)
    if 'w_f' in expected:
        wkd_f = losses.loss_wkd_f
        assert (wkd_f.loss_weight, wkd_f.mean_cov_ratio, wkd_f.grid) == (
            expected['w_f'], 2.0, 4)
    scheduled = 'mmkd.DistillWeightScheduleHook' in hooks
    assert scheduled == name.split('_')[0].startswith(('wkd', 'ban'))
    if name.startswith('kd_'):
        assert losses.loss_kd.temperature == 1.0
        assert cfg.model.student.head.loss.loss_weight == 0.5


@pytest.mark.parametrize('stem', list(DKD_EXPECTED))
def test_dkd_baselines_follow_mdistiller(stem):
    cfg = _load(f'{stem}_8xb32-100e_in1k.py')
    dkd = cfg.model.distill_losses.loss_dkd
    assert dkd.type == 'mmkd.DKDLoss'
    assert (dkd.alpha, dkd.beta, dkd.temperature) == DKD_EXPECTED[stem]
    assert cfg.model.distill_inputs.loss_dkd == 'logits'
    # CE weight 1, constant DKD weight (no schedule hook)
    assert cfg.model.student.head.loss.get('loss_weight', 1.0) == 1.0
    hooks = [h.type for h in cfg.custom_hooks]
    assert 'mmkd.DistillWeightScheduleHook' not in hooks


@pytest.mark.parametrize('method', ['wkd-f', 'wkd-lf'])
@pytest.mark.parametrize('pair', list(WKD_F_WIDTHS))
def test_wkd_f_uses_the_official_bottleneck_projector(method, pair):
    import torch.nn as nn

    from mmkd.models import BottleneckProjector
    cfg = _load(f'{method}_{pair}_8xb32-100e_in1k.py')
    term = cfg.model.distill_inputs.loss_wkd_f
    assert term.source == 'feature' and term.connector == 'proj'
    model = _build(cfg)
    proj = model.connectors['proj']
    assert isinstance(proj, BottleneckProjector)
    c_s, c_t = WKD_F_WIDTHS[pair]
    assert (proj.in_channels, proj.out_channels) == (c_s, c_t)
    # ConvRegBottleNeck(c_hidden=256): conv1x1 -> conv3x3 -> conv1x1, all
    # biased with nothing in between, then relu(bn(x)) (docs/methods.md sec. 2)
    layers = [m for m in proj.layers if not isinstance(m, nn.Identity)]
    assert [type(m) for m in layers] == [
        nn.Conv2d, nn.Conv2d, nn.Conv2d, nn.BatchNorm2d, nn.ReLU
    ]
    conv1, conv2, conv3, bn, _ = layers
    assert (conv1.in_channels, conv1.out_channels,
            conv1.kernel_size) == (c_s, 256, (1, 1))
    assert (conv2.in_channels, conv2.out_channels, conv2.kernel_size,
            conv2.padding) == (256, 256, (3, 3), (1, 1))
    assert (conv3.in_channels, conv3.out_channels,
            conv3.kernel_size) == (256, c_t, (1, 1))
    assert conv1.bias is not None and conv2.bias is not None
    assert bn.num_features == c_t
    # the student feature the loss sees is the projector's output
    x = torch.randn(2, c_s, 5, 5)
    proj.eval()
    ref = torch.relu(bn(conv3(conv2(conv1(x)))))
    torch.testing.assert_close(proj(x), ref)


@pytest.mark.parametrize('name', DISTILL)
def test_builds_and_trains_one_step(name):
    cfg = _load(name)
    model = _build(cfg)
    model.train()
    inputs, samples = _batch(model)
    losses = model(inputs, samples, mode='loss')
    terms = {f'distill.{k}' for k in cfg.model.distill_losses}
    assert set(losses) == {'student.loss'} | terms
    for key in terms:
        assert losses[key].dtype == torch.float32
        assert torch.isfinite(losses[key].detach())
    total, _ = model.parse_losses(losses)
    total.backward()
    assert all(p.grad is not None for p in model.student.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())
    assert all(p.grad is not None for p in model.connectors.parameters())
    assert not model.teacher.training
    # the recorded feature maps of WKD-F (last stage, 160 / 32 = 5)
    if any(t['source'] == 'feature' for t in model.distill_inputs.values()):
        s_shapes, t_shapes = model.recorded_shapes(inputs)
        assert s_shapes[None][2:] == t_shapes[None][2:] == (5, 5)
    assert not any(k.startswith('teacher.') for k in model.state_dict())


def test_student_alone_config():
    cfg = _load('mobilenetv1_8xb32_in1k.py')
    model = _build(cfg)
    assert sum(p.numel() for p in model.parameters()) == 4_231_976
    inputs, samples = _batch(model)
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss'}
    assert cfg.optim_wrapper.optimizer.nesterov


def test_distilled_students_match_the_plain_student_configs():
    """The exported student loads into the plain config's model."""
    from mmkd.models import student_state_dict_from
    pairs = [('kd_resnet50-to-mobilenetv1_8xb32-100e_in1k.py',
              'mobilenetv1_8xb32_in1k.py')]
    for distill_name, plain_name in pairs:
        distiller = _build(_load(distill_name))
        plain = _build(_load(plain_name))
        student = student_state_dict_from(distiller.state_dict())
        result = plain.load_state_dict(student, strict=True)
        assert not result.missing_keys and not result.unexpected_keys
