# Copyright (c) OpenMMLab. All rights reserved.
"""configs/cifar100: every number of the six official WKD configs and of the
CRD recipe pinned to its source, the rest of the CRD table, and the KD/DKD
baselines with mdistiller's settings."""
import glob
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG_DIR = osp.join(ROOT, 'configs', 'cifar100')

#: JiamingLv/WKD @214cf88, configs/cifar100/<method>/<pair>.yaml:
#: (seed, lambda, tau) for wkd_l, (seed, w_F, gamma, grid) for wkd_f,
#: (seed, lambda, tau, w_F, gamma, grid) for wkd_lf.
OFFICIAL = {
    'resnet32x4-to-resnet8x4': dict(
        l=(42, 600.0, 8.0), f=(10, 0.08, 4.0, 1),
        lf=(10, 200.0, 8.0, 0.08, 8.0, 1), lr=0.05,
        projector=('Conv2d', (1, 1), 256, 256)),
    'wrn-40-2-to-shufflenet-v1': dict(
        l=(42, 200.0, 6.0), f=(10, 0.3, 3.0, 4),
        lf=(10, 60.0, 4.0, 0.5, 3.0, 4), lr=0.01,
        projector=('ConvTranspose2d', (4, 4), 960, 128)),
}
#: The CRD table's pairs (the paper's appendix), with the student's lr
#: (CRD: 0.01 for MobileNetV2 and ShuffleNets, 0.05 otherwise).
PAIRS = {
    'resnet56-to-resnet20': 0.05,
    'resnet110-to-resnet32': 0.05,
    'resnet32x4-to-resnet8x4': 0.05,
    'wrn-40-2-to-wrn-16-2': 0.05,
    'wrn-40-2-to-wrn-40-1': 0.05,
    'vgg13-to-vgg8': 0.05,
    'resnet32x4-to-shufflenet-v1': 0.01,
    'resnet32x4-to-shufflenet-v2': 0.01,
    'wrn-40-2-to-shufflenet-v1': 0.01,
    'vgg13-to-mobilenet-v2-half': 0.01,
    'resnet50-to-mobilenet-v2-half': 0.01,
}


def _cfg(name):
    from mmengine.config import Config
    return Config.fromfile(osp.join(CFG_DIR, name))


def _leaf(method, pair):
    return _cfg(f'{method}_{pair}_1xb64-240e_cifar100.py')


def _build(cfg):
    """The distiller of a config, the teacher left randomly initialised
    (no checkpoint file here)."""
    from mmengine.registry import DefaultScope

    import mmkd.models.backbones  # noqa: F401
    import mmkd.models.distillers.classification_distiller  # noqa: F401
    from mmkd.registry import MODELS
    model_cfg = cfg.model.copy()
    if 'teacher_ckpt' in model_cfg:
        model_cfg['teacher_ckpt'] = None
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(model_cfg)


def test_the_crd_recipe_is_the_official_one():
    cfg = _cfg('wkd-lf_resnet32x4-to-resnet8x4_1xb64-240e_cifar100.py')
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay,
            opt.nesterov) == ('SGD', 0.05, 0.9, 5e-4, True)
    sched = cfg.param_scheduler
    assert (sched.type, sched.milestones, sched.gamma,
            sched.by_epoch) == ('MultiStepLR', [150, 180, 210], 0.1, True)
    assert cfg.train_cfg.max_epochs == 240
    assert cfg.train_cfg.val_interval == 1  # test top-1 after every epoch
    assert cfg.default_hooks.checkpoint.save_best == 'accuracy/top1'
    assert cfg.train_dataloader.batch_size == 64
    train = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert train == ['RandomCrop', 'RandomFlip', 'PackInputs']
    crop = cfg.train_dataloader.dataset.pipeline[0]
    assert (crop.crop_size, crop.padding) == (32, 4)
    assert cfg.train_dataloader.dataset.pipeline[1].direction == 'horizontal'
    assert [t.type for t in cfg.val_dataloader.dataset.pipeline] == [
        'PackInputs'
    ]
    pre = cfg.data_preprocessor
    torch.testing.assert_close(
        torch.tensor(pre.mean) / 255, torch.tensor([0.5071, 0.4867, 0.4408]))
    torch.testing.assert_close(
        torch.tensor(pre.std) / 255, torch.tensor([0.2675, 0.2565, 0.2761]))
    assert pre.to_rgb is False  # mmpretrain's CIFAR images are RGB already


@pytest.mark.parametrize('pair', list(OFFICIAL))
def test_the_six_official_configs(pair):
    off = OFFICIAL[pair]
    wkd_l = _leaf('wkd-l', pair)
    seed, lam, tau = off['l']
    loss = wkd_l.model.distill_losses.loss_wkd_l
    assert wkd_l.randomness.seed == seed
    assert (loss.wd_weight, loss.temperature, loss.sinkhorn_reg,
            loss.sinkhorn_iters) == (lam, tau, 0.05, 10)
    assert wkd_l.model.distill_inputs.loss_wkd_l.labels == 'hard'
    hook = wkd_l.custom_hooks[0]
    assert (hook.type, hook.source, hook.kappa) == ('mmkd.CostMatrixHook',
                                                   'feature', 1.0)
    # 500 images x 64 positions of the 8 x 8 map, all training images
    assert hook.num_per_class == 32000
    assert hook.dataloader.sampler.shuffle is False
    assert [t.type for t in hook.dataloader.dataset.pipeline] == [
        'PackInputs'
    ]
    wkd_f = _leaf('wkd-f', pair)
    seed, w_f, gamma, grid = off['f']
    loss = wkd_f.model.distill_losses.loss_wkd_f
    assert wkd_f.randomness.seed == seed
    assert (loss.loss_weight, loss.mean_cov_ratio, loss.grid, loss.eps,
            loss.covariance) == (w_f, gamma, grid, 1e-5, 'diag')
    assert not any(h.type == 'mmkd.CostMatrixHook'
                   for h in wkd_f.custom_hooks)
    wkd_lf = _leaf('wkd-lf', pair)
    seed, lam, tau, w_f, gamma, grid = off['lf']
    losses = wkd_lf.model.distill_losses
    assert wkd_lf.randomness.seed == seed
    assert (losses.loss_wkd_l.wd_weight,
            losses.loss_wkd_l.temperature) == (lam, tau)
    assert (losses.loss_wkd_f.loss_weight, losses.loss_wkd_f.mean_cov_ratio,
            losses.loss_wkd_f.grid) == (w_f, gamma, grid)
    for cfg in (wkd_l, wkd_f, wkd_lf):
        assert cfg.optim_wrapper.optimizer.lr == off['lr']
        # both weights decay with a cosine after epoch 150 of 240
        sched = [h for h in cfg.custom_hooks
                 if h.type == 'mmkd.DistillWeightScheduleHook']
        assert len(sched) == 1 and sched[0].begin == 150
        assert sched[0].by_epoch and sched[0].get('end') is None
        assert 'mmkd.StudentCheckpointHook' in [
            h.type for h in cfg.custom_hooks
        ]
    # the "conv1x1" projector: a ConvReg chosen from the map sizes
    kind, kernel, c_in, c_out = off['projector']
    proj = _build(wkd_f).connectors['proj']
    assert type(proj.conv).__name__ == kind
    assert proj.conv.kernel_size == kernel
    assert (proj.conv.in_channels, proj.conv.out_channels) == (c_in, c_out)
    assert isinstance(proj.bn, torch.nn.BatchNorm2d)
    assert isinstance(proj.relu, torch.nn.ReLU)


def test_the_schedule_is_the_official_cosine():
    """0.5 w (1 + cos((e - 150) / 90 pi)) for e > 150, epochs from 1."""
    import math

    from mmkd.engine.hooks.distill_weight_hook import distill_weight_factor
    for e in (1, 150, 151, 200, 240):
        official = 1.0 if e <= 150 else 0.5 * (
            1 + math.cos((e - 150) / 90 * math.pi))
        assert distill_weight_factor(e, 240, begin=150) == pytest.approx(
            official)


@pytest.mark.parametrize('pair', list(OFFICIAL))
def test_kd_and_dkd_use_mdistillers_settings(pair):
    kd = _leaf('kd', pair)
    assert kd.model.distill_losses.loss_kd.temperature == 4.0
    assert kd.model.distill_losses.loss_kd.loss_weight == 0.9
    assert kd.model.student.head.loss.loss_weight == 0.1
    dkd = _leaf('dkd', pair)
    loss = dkd.model.distill_losses.loss_dkd
    assert (loss.alpha, loss.beta, loss.temperature) == (1.0, 8.0, 4.0)
    warm = dkd.custom_hooks[0]
    assert (warm.schedule, warm.warmup) == ('constant', 20)
    from mmkd.engine.hooks.distill_weight_hook import distill_weight_factor
    # mdistiller: min(epoch / 20, 1), epochs from 1
    for e in (1, 10, 20, 21):
        assert distill_weight_factor(
            e, 240, schedule='constant', warmup=20) == min(e / 20, 1)
    for cfg in (kd, dkd):
        assert cfg.optim_wrapper.optimizer.lr == OFFICIAL[pair]['lr']


@pytest.mark.parametrize('pair', list(PAIRS))
def test_every_crd_pair_has_the_three_wkd_configs_and_its_lr(pair):
    for method in ('wkd-l', 'wkd-f', 'wkd-lf'):
        cfg = _leaf(method, pair)
        assert cfg.optim_wrapper.optimizer.lr == PAIRS[pair]
        assert cfg.train_cfg.max_epochs == 240
        if pair not in OFFICIAL:
            # nearest official pair: within or across architectures
            text = open(osp.join(
                CFG_DIR, f'{method}_{pair}_1xb64-240e_cifar100.py')).read()
            text = ' '.join(line.lstrip('# ') for line in text.splitlines())
            assert 'The official code gives no weights for this pair' in text


@pytest.mark.parametrize('pair', list(PAIRS))
def test_wkd_lf_of_every_pair_computes_its_terms(pair):
    """The student's distilled stage, projected, meets the teacher's: finite
    terms and gradients through the student and the projector."""
    model = _build(_leaf('wkd-lf', pair))
    n = model.num_classes
    model.set_cost_matrix(1 - torch.eye(n))
    model.train()
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(0)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, 32, 32), generator=gen).byte()
            for _ in range(4)
        ],
        data_samples=[DataSample().set_gt_label(i) for i in range(4)])
    data = model.data_preprocessor(data, True)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    for key in ('distill.loss_wkd_l', 'distill.loss_wkd_f'):
        assert torch.isfinite(losses[key]) and losses[key] > 0, key
    total, _ = model.parse_losses(losses)
    total.backward()
    assert all(p.grad is not None for p in model.connectors.parameters())


def test_every_config_builds():
    names = sorted(
        osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py')))
    assert len(names) == 15 + 3 * len(PAIRS) + 2 * len(OFFICIAL)
    for name in names:
        model = _build(_cfg(name))
        assert model is not None, name
