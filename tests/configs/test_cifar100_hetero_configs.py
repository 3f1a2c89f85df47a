# Copyright (c) OpenMMLab. All rights reserved.
"""configs/cifar100_hetero: the five across-architecture pairs of the WKD
paper's Table 6 (OFA protocol) build, their recorded maps meet through the
linear projector, and the numbers the paper states are pinned."""
import glob
import os.path as osp

import pytest
import torch

pytest.importorskip('mmpretrain')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG_DIR = osp.join(ROOT, 'configs', 'cifar100_hetero')

#: pair -> (teacher backbone type, student backbone type, teacher map,
#: student map) at 224 px (C, H, W); OFA's custom_forward shapes.
PAIRS = {
    'swin-t-to-resnet18': ('SwinTransformer', 'ResNet', (768, 7, 7),
                           (512, 7, 7)),
    'vit-s-to-resnet18': ('VisionTransformer', 'ResNet', (384, 14, 14),
                          (512, 7, 7)),
    'vit-s-to-mobilenet-v2': ('VisionTransformer', 'MobileNetV2',
                              (384, 14, 14), (1280, 7, 7)),
    'convnext-t-to-deit-t': ('ConvNeXt', 'VisionTransformer', (768, 7, 7),
                             (192, 14, 14)),
    'convnext-t-to-swin-p': ('ConvNeXt', 'SwinTransformer', (768, 7, 7),
                             (384, 7, 7)),
}
METHODS = ('wkd-l', 'wkd-f', 'wkd-lf', 'kd', 'dkd', 'fitnet')
TRANSFORMER_STUDENTS = ('deit-t', 'swin-p')


def _cfg(name):
    from mmengine.config import Config
    return Config.fromfile(osp.join(CFG_DIR, name))


def _leaf(method, pair):
    return _cfg(f'{method}_{pair}_8xb64-300e_cifar100.py')


def _build(cfg):
    from mmengine.registry import DefaultScope

    import mmkd.models.distillers.classification_distiller  # noqa: F401
    from mmkd.registry import MODELS
    model_cfg = cfg.model.copy()
    model_cfg['teacher_ckpt'] = None
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(model_cfg)


def test_every_pair_has_every_method_and_nothing_else():
    leaves = sorted(
        osp.basename(p)
        for p in glob.glob(osp.join(CFG_DIR, '*-to-*_cifar100.py')))
    assert leaves == sorted(f'{m}_{p}_8xb64-300e_cifar100.py'
                            for m in METHODS for p in PAIRS)


@pytest.mark.parametrize('pair', list(PAIRS))
def test_the_paper_s_recipe_and_terms(pair):
    """WKD paper appendix C.5: 300 epochs, batch 512 (8 x 64), cosine;
    CNN students SGD 2.5e-2, Transformer students AdamW 2.5e-4, weight
    decay 2e-3; WKD-L tau 2, kappa 1, lambda in 50-200; WKD-F gamma 2,
    grid 1, w_F in {1, 2, 4, 8} x 1e-2, a linear projector; 224 px."""
    cfg = _leaf('wkd-lf', pair)
    student = pair.split('-to-')[1]
    opt = cfg.optim_wrapper.optimizer
    if student in TRANSFORMER_STUDENTS:
        assert (opt.type, opt.lr) == ('AdamW', 2.5e-4)
    else:
        assert (opt.type, opt.lr) == ('SGD', 2.5e-2)
    assert opt.weight_decay == 2e-3
    assert cfg.param_scheduler.type == 'CosineAnnealingLR'
    assert cfg.train_cfg.max_epochs == 300
    assert cfg.train_dataloader.batch_size * 8 == 512
    crop = cfg.train_dataloader.dataset.pipeline[0]
    assert (crop.type, crop.scale, crop.crop_ratio_range) == (
        'RandomResizedCrop', 224, (0.08, 1.0))
    assert cfg.test_dataloader.dataset.pipeline[1].crop_size == 224
    l_term, f_term = (cfg.model.distill_losses[k]
                      for k in ('loss_wkd_l', 'loss_wkd_f'))
    assert l_term.temperature == 2.0 and 50 <= l_term.wd_weight <= 200
    hook = next(h for h in cfg.custom_hooks
                if h.type == 'mmkd.CostMatrixHook')
    assert hook.kappa == 1.0
    assert (f_term.grid, f_term.mean_cov_ratio) == (1, 2.0)
    assert f_term.loss_weight in (1e-2, 2e-2, 4e-2, 8e-2)
    proj = cfg.model.connectors.proj
    assert proj.type == 'mmkd.LinearMapConnector'
    t_map, s_map = PAIRS[pair][2:]
    assert (proj.in_channels, proj.out_channels) == (s_map[0], t_map[0])
    if s_map[1:] != t_map[1:]:
        assert proj.out_size == t_map[1]


def test_named_architectures_are_the_papers():
    """ViT-S is mmpretrain's 'deit-small' (384/12/6), not 'small'; Swin-P
    is OFA's patch 4, window 7, embed 48, depths 2-2-2-2, heads
    2-4-8-16."""
    vit = _cfg('vit-s_8xb64-300e_cifar100.py').model.backbone
    assert (vit.arch, vit.patch_size) == ('deit-small', 16)
    swin_p = _cfg('swin-p_8xb64-300e_cifar100.py').model.backbone
    assert dict(swin_p.arch) == dict(embed_dims=48, depths=[2, 2, 2, 2],
                                     num_heads=[2, 4, 8, 16])
    assert (swin_p.patch_size, swin_p.window_size) == (4, 7)
    assert _cfg('deit-t_8xb64-300e_cifar100.py'
                ).model.backbone.arch == 'deit-tiny'


@pytest.mark.parametrize('pair', list(PAIRS))
def test_wkd_lf_builds_and_its_maps_meet(pair):
    """The distiller builds (probe at 224 px), the recorded maps have the
    pair's shapes, and one loss call gives finite terms."""
    from mmpretrain.structures import DataSample
    cfg = _leaf('wkd-lf', pair)
    model = _build(cfg)
    t_type, s_type, t_map, s_map = PAIRS[pair]
    assert type(model.teacher.backbone).__name__ == t_type
    assert type(model.student.backbone).__name__ == s_type
    model.distill_losses['loss_wkd_l'].set_cost_matrix(
        torch.rand(100, 100).fill_diagonal_(0))
    x = torch.randn(2, 3, 224, 224)
    s_shapes, t_shapes = model.recorded_shapes(x)
    term = cfg.model.distill_inputs.loss_wkd_f
    assert s_shapes[term.student_stage] == (2, *s_map)
    assert t_shapes[term.teacher_stage] == (2, *t_map)
    samples = [DataSample().set_gt_label(i) for i in range(2)]
    with torch.no_grad():
        losses = model.loss(x, samples)
    for key in ('distill.loss_wkd_l', 'distill.loss_wkd_f'):
        assert torch.isfinite(losses[key]), key


@pytest.mark.parametrize('method', ['kd', 'dkd', 'fitnet'])
def test_baselines_build(method):
    model = _build(_leaf(method, 'convnext-t-to-deit-t'))
    assert set(model.distill_losses) == {f'loss_{method}'}


def test_ofa_recipes_build():
    """OFA's own recipes, the alternative behind the quoted baselines:
    their transforms and batch augments build."""
    import mmpretrain.datasets  # noqa: F401
    import mmpretrain.models  # noqa: F401
    from mmpretrain.registry import MODELS, TRANSFORMS
    for name, opt_type, lr in (
            ('ofa-recipe-cnn_8xb128-300e_cifar100.py', 'SGD', 0.05),
            ('ofa-recipe-transformer_8xb128-300e_cifar100.py', 'AdamW',
             5e-4)):
        cfg = _cfg(osp.join('_base_', name))
        assert (cfg.optim_wrapper.optimizer.type,
                cfg.optim_wrapper.optimizer.lr) == (opt_type, lr)
        assert cfg.train_dataloader.batch_size == 128
        for t in cfg.train_dataloader.dataset.pipeline:
            TRANSFORMS.build(t)
        MODELS.build(dict(type='ClsDataPreprocessor', **cfg.data_preprocessor))
