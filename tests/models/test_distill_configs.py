# Copyright (c) OpenMMLab. All rights reserved.
"""Every shipped distillation config parses, builds (no weight download)
and runs one training step on a small synthetic batch."""
import glob
import os.path as osp

import pytest
import torch
from distill_helpers import setup_mmdet

setup_mmdet()

from mmengine.config import Config  # noqa: E402

from mmkd.models import DetectionDistiller, build_model  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COCO = sorted(glob.glob(osp.join(ROOT, 'configs', 'coco', '*-to-*.py')))
# (the one-stage toy configs: tests/configs/test_one_stage_configs.py)
TOY = sorted(
    glob.glob(
        osp.join(ROOT, 'configs', 'toy_digits', 'faster-rcnn_*-to-*.py')))
VARIANTS = ('wkd-l', 'wkd-f-fpn', 'wkd-f-roi', 'wkd-lf', 'wkd-lf-bbox', 'kd',
            'dkd')
_TEACHERS = {}


def test_all_paper_variants_exist_for_both_pairs():
    names = {osp.basename(p) for p in COCO}
    for pair in ('r101-to-r18', 'r50-to-mobilenetv2'):
        for variant in VARIANTS:
            assert f'faster-rcnn_{pair}_fpn_{variant}_ms-1x_coco.py' in names
    toy = {osp.basename(p).split('_')[3] for p in TOY}
    assert {'wkd-l', 'wkd-f', 'wkd-f-fpn', 'wkd-lf', 'wkd-lf-bbox', 'kd',
            'dkd', 'fitnet'} <= toy


@pytest.mark.parametrize('pair', ['r101-to-r18', 'r50-to-mobilenetv2'])
def test_fpn_wkd_f_default_and_grid2_option(pair):
    """WKD-F on FPN maps: standardised 2x2-position cells by default (the
    form the toy FPN studies chose), the one-2x2-grid form as -grid2."""
    def term(variant):
        cfg = Config.fromfile(osp.join(
            ROOT, 'configs', 'coco',
            f'faster-rcnn_{pair}_fpn_{variant}_ms-1x_coco.py'))
        loss = cfg.model.distill_losses.loss_wkd_f
        return (loss.get('grid', 1), loss.get('cell_size'),
                loss.get('normalize', 'none'), loss.loss_weight)

    assert term('wkd-f-fpn')[:3] == (1, 2, 'channel')
    assert term('wkd-f-fpn-grid2') == (2, None, 'none', 0.005)


def build(path):
    """The distiller of a config, teacher built once per teacher config."""
    cfg = Config.fromfile(path)
    model_cfg = cfg.model.copy()
    assert model_cfg.pop('type') == 'mmkd.DetectionDistiller'
    ckpt = model_cfg.pop('teacher_ckpt')
    assert ckpt, 'the config names the teacher checkpoint'
    key = str(model_cfg.teacher)
    if key not in _TEACHERS:
        _TEACHERS[key] = build_model(model_cfg.teacher,
                                                    'teacher')
    model_cfg.teacher = _TEACHERS[key]
    return cfg, DetectionDistiller(**model_cfg)


def one_step(model, size, num_rois=None):
    from mmdet.testing import demo_mm_inputs
    if num_rois is not None:  # fewer RoIs and proposals: seconds on a CPU
        model.student.roi_head.bbox_sampler.num = num_rois
        model.student.train_cfg.rpn_proposal.max_per_img = 2 * num_rois
    n = model.num_classes + 1
    for loss in model.distill_losses.values():
        if hasattr(loss, 'set_cost_matrix'):
            cost = torch.rand(n, n)
            loss.set_cost_matrix(((cost + cost.t()) / 2).fill_diagonal_(0))
    model.train()
    packed = demo_mm_inputs(
        batch_size=2, image_shapes=[(3, size, size)] * 2, num_items=[2, 3],
        num_classes=model.num_classes)
    data = model.data_preprocessor(packed, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    total, log_vars = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    return losses


@pytest.mark.parametrize('path', COCO, ids=osp.basename)
def test_coco_config_builds(path):
    cfg, model = build(path)
    assert model.num_classes == 80
    assert cfg.model.teacher_ckpt.startswith('https://download.openmmlab')
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
    assert 'mmkd.StudentCheckpointHook' in hooks
    if any(t['source'] == 'roi_cls' and hasattr(
            model.distill_losses[n], 'set_cost_matrix')
           for n, t in model.distill_inputs.items()):
        assert 'mmkd.CostMatrixHook' in hooks
    # The lighter pair also runs a step: RoI terms and FPN terms.
    if 'mobilenetv2' in path and ('wkd-lf-bbox' in path
                                  or 'wkd-f-fpn' in path):
        losses = one_step(model, 256, num_rois=32)
        assert set(model.distill_losses) == {
            k[len('distill.'):]
            for k in losses if k.startswith('distill.loss')
        }


@pytest.mark.parametrize('path', TOY, ids=osp.basename)
def test_toy_config_builds_and_steps(path):
    cfg, model = build(path)
    assert model.num_classes == 10
    # one step for the variants that cover every source and loss type
    if not any(v in path for v in ('wkd-lf-bbox', 'wkd-f-fpn', 'fitnet',
                                   'dkd')):
        return
    losses = one_step(model, 128)
    assert set(model.distill_losses) == {
        k[len('distill.'):]
        for k in losses if k.startswith('distill.loss')
    }


@pytest.mark.parametrize('student', [
    'faster-rcnn_mobilenetv2_fpn_ms-1x_coco.py',
    'faster-rcnn_r18_fpn_ms-1x_coco.py',
])
def test_coco_students_freeze_bn_statistics(student):
    """2 images per GPU: BN statistics stay the pretrained ones (see the
    MobileNetV2 config; mmdet's MobileNetV2 default is norm_eval=False)."""
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    from torch.nn.modules.batchnorm import _BatchNorm
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'coco', student))
    assert cfg.train_dataloader.batch_size == 2
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)  # no init_weights: no download
    backbone = model.backbone
    assert backbone.norm_eval is True
    model.train()
    bns = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)
    # affine parameters still train (outside frozen stages), as mmdet's R50
    assert cfg.model.backbone.norm_cfg == dict(type='BN', requires_grad=True)
    # every distillation config of the pair inherits the setting
    pair = 'r50-to-mobilenetv2' if 'mobilenetv2' in student else 'r101-to-r18'
    for path in COCO:
        if pair in path:
            distill = Config.fromfile(path)
            assert distill.model.student.backbone.norm_eval is True, path
