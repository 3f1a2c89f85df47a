# Copyright (c) OpenMMLab. All rights reserved.
"""configs/toy_digits_hetero: both toy across-architecture pairs build and
every method gives finite terms on a 32 x 32 batch (the study trains
them)."""
import glob
import os.path as osp

import pytest
import torch

pytest.importorskip('mmpretrain')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG_DIR = osp.join(ROOT, 'configs', 'toy_digits_hetero')
#: pair -> (teacher, student) backbone types and their 8 x 8 map widths
PAIRS = {
    # ConvStemViT builds a VisionTransformer (its stem as patch_embed)
    'cvit-w96-to-resnet8': (('VisionTransformer', 96), ('CIFARResNet', 64)),
    'resnet32-to-cvit-w48': (('CIFARResNet', 64), ('VisionTransformer', 48)),
}


@pytest.mark.parametrize('path', sorted(
    glob.glob(osp.join(CFG_DIR, '*-to-*_toy-digits-cls.py'))),
    ids=osp.basename)
def test_builds_and_gives_finite_terms(path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.structures import DataSample

    import mmkd.models.backbones  # noqa: F401
    from mmkd.registry import MODELS
    cfg = Config.fromfile(path)
    pair = osp.basename(path).split('_')[1]
    (t_type, t_width), (s_type, s_width) = PAIRS[pair]
    model_cfg = cfg.model.copy()
    model_cfg['teacher_ckpt'] = None
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(model_cfg)
    assert type(model.teacher.backbone).__name__ == t_type
    assert type(model.student.backbone).__name__ == s_type
    for loss in model.distill_losses.values():
        if hasattr(loss, 'set_cost_matrix'):
            loss.set_cost_matrix(torch.rand(10, 10).fill_diagonal_(0))
    if 'proj' in model.connectors:
        assert (model.connectors['proj'].in_channels,
                model.connectors['proj'].out_channels) == (s_width, t_width)
    x = torch.randn(4, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    with torch.no_grad():
        losses = model.loss(x, samples)
    terms = [k for k in losses if k.startswith('distill.loss')]
    assert terms and all(torch.isfinite(losses[k]) for k in terms)
