# Copyright (c) OpenMMLab. All rights reserved.
"""The registered MobileNetV1 backbone: size, shapes, freezing."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm


def _build(**kwargs):
    from mmkd.models.backbones import MobileNetV1
    return MobileNetV1(**kwargs)


def test_parameter_count_of_the_standard_imagenet_network():
    backbone = _build()
    n_backbone = sum(p.numel() for p in backbone.parameters())
    # 1.0-width MobileNetV1: 3.21 M in the convolutions and BN, plus a
    # 1024 x 1000 linear classifier = 4.23 M (the published "4.2 M").
    assert n_backbone == 3_206_976
    assert n_backbone + 1024 * 1000 + 1000 == 4_231_976


def test_output_shapes_and_stage_strides():
    backbone = _build(out_indices=(0, 1, 2, 3, 4))
    backbone.eval()
    outs = backbone(torch.rand(2, 3, 224, 224))
    assert [tuple(o.shape) for o in outs] == [(2, 64, 112, 112),
                                              (2, 128, 56, 56),
                                              (2, 256, 28, 28),
                                              (2, 512, 14, 14),
                                              (2, 1024, 7, 7)]
    assert all(float(o.detach().min()) >= 0 for o in outs)  # post-ReLU
    assert backbone.layers == ['layer1', 'layer2', 'layer3', 'layer4',
                               'layer5']
    assert backbone.stage_channels == [64, 128, 256, 512, 1024]


def test_registered_and_buildable_in_an_mmpretrain_classifier():
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import mmkd.models.backbones  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(
            dict(
                type='ImageClassifier',
                backbone=dict(type='mmkd.MobileNetV1'),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(
                    type='LinearClsHead', num_classes=1000,
                    in_channels=1024)))
    assert sum(p.numel() for p in model.parameters()) == 4_231_976
    model.eval()
    assert tuple(model(torch.rand(1, 3, 64, 64), mode='tensor').shape) == (
        1, 1000)


def test_width_multiplier_and_frozen_stages():
    backbone = _build(widen_factor=0.25, frozen_stages=2, norm_eval=True)
    assert backbone.stage_channels == [16, 32, 64, 128, 256]
    backbone.train()
    for name in ('conv1', 'layer1', 'layer2'):
        module = getattr(backbone, name)
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())
    assert all(p.requires_grad for p in backbone.layer3.parameters())
    assert not any(m.training for m in backbone.modules()
                   if isinstance(m, _BatchNorm))
    out = backbone(torch.rand(1, 3, 64, 64))
    assert tuple(out[0].shape) == (1, 256, 2, 2)


@pytest.mark.parametrize('kwargs, match', [
    (dict(out_indices=(5, )), r'out_indices must be an int in \[-1, 4\]'),
    (dict(out_indices=()), 'at least one stage'),
    (dict(frozen_stages=7), r'frozen_stages must be an int in \[-1, 4\]'),
    (dict(widen_factor=0), 'widen_factor must be a positive number'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _build(**kwargs)
