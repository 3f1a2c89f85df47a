# Copyright (c) OpenMMLab. All rights reserved.
"""Feature maps of every mmpretrain backbone family (ViT, DeiT, Swin,
ConvNeXt, CNNs) in one layout, checked against each backbone's own map
output, and WKD-F distillation across families through the distiller."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from mmkd.models import ClassificationDistiller, LinearMapConnector
from mmkd.models.adapters import to_feature_map
from mmkd.models.recorder import StageRecorder

pytest.importorskip('mmpretrain')

TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=2,
                feedforward_channels=64)


def _backbone(cfg):
    import mmpretrain.models  # noqa: F401
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.eval()  # some backbones' train() returns None
    return model


def _recorded(backbone, stage, x):
    """to_feature_map of ``stage`` as the distiller records it."""
    modules = {stage: dict(backbone.named_modules())[stage]}
    if hasattr(backbone, 'patch_embed'):
        modules['hw'] = backbone.patch_embed
    rec = StageRecorder(modules, raw=modules)
    with torch.no_grad(), rec.recording():
        backbone(x)
    hw = rec.outputs['hw'][1] if 'hw' in rec.outputs else None
    return to_feature_map(rec.outputs[stage],
                          getattr(backbone, 'num_extra_tokens', 0), hw)


@pytest.mark.parametrize('vit_type,extra', [('VisionTransformer', 1),
                                            ('DistilledVisionTransformer', 2)
                                            ])
@pytest.mark.parametrize('size', [(32, 32), (32, 48)])
def test_vit_and_deit_tokens_are_their_featmap(vit_type, extra, size):
    """The last layer's patch tokens on the grid are the backbone's own
    out_type='featmap' output (no final norm); class/distillation tokens
    dropped, non-square grids from the patch embedding."""
    kwargs = dict(type=vit_type, arch=TINY_VIT, img_size=32, patch_size=8,
                  final_norm=False)
    tokens = _backbone(dict(kwargs, out_type='cls_token'))
    featmap = _backbone(dict(kwargs, out_type='featmap'))
    assert tokens.num_extra_tokens == extra
    x = torch.randn(2, 3, *size)
    got = _recorded(tokens, 'layers.1', x)
    with torch.no_grad():
        want = featmap(x)[-1]
    assert got.shape == (2, 32, size[0] // 8, size[1] // 8)
    torch.testing.assert_close(got, want)


def test_swin_stage_is_its_normless_output():
    swin = _backbone(dict(type='SwinTransformer',
                          arch=dict(embed_dims=16, depths=[1, 1],
                                    num_heads=[1, 2]),
                          img_size=32, window_size=2, out_indices=(1, )))
    x = torch.randn(2, 3, 32, 32)
    got = _recorded(swin, 'stages.1', x)
    swin.norm1 = nn.Identity()
    with torch.no_grad():
        want = swin(x)[-1]
    assert got.shape == (2, 32, 4, 4)
    torch.testing.assert_close(got, want)


def test_convnext_stage_and_its_pooled_default():
    cfg = dict(type='ConvNeXt', arch=dict(depths=[1, 1], channels=[16, 32]),
               out_indices=(1, ))
    convnext = _backbone(cfg)
    x = torch.randn(2, 3, 32, 32)
    got = _recorded(convnext, 'stages.1', x)
    assert got.shape == (2, 32, 4, 4)
    maps = _backbone(dict(cfg, gap_before_final_norm=False))
    maps.norm1 = nn.Identity()
    with torch.no_grad():
        torch.testing.assert_close(got, maps(x)[-1])
        pooled = convnext(x)
    with pytest.raises(ValueError, match='gap_before_final_norm=False'):
        to_feature_map(pooled, where='the backbone')


def test_cnn_maps_pass_unchanged_and_bad_tokens_are_named():
    x = torch.randn(2, 8, 4, 4)
    assert to_feature_map((torch.randn(1), x)) is x  # last of a tuple
    tokens = torch.randn(2, 1 + 12, 8)
    with pytest.raises(ValueError, match='no square grid'):
        to_feature_map(tokens, num_extra_tokens=1)
    with pytest.raises(ValueError, match='a 3x3 patch grid'):
        to_feature_map(tokens, num_extra_tokens=1, patch_hw=(3, 3))
    # brute force: token 1 + (i * w + j) is position (i, j)
    m = to_feature_map(tokens, num_extra_tokens=1, patch_hw=(3, 4))
    for i in range(3):
        for j in range(4):
            torch.testing.assert_close(m[:, :, i, j], tokens[:, 1 + i * 4 + j])
    with pytest.raises(ValueError, match="out_type='featmap'"):
        to_feature_map(torch.randn(2, 8), where='x')


# ----------------------------------------------------------------------
# distillation across families
# ----------------------------------------------------------------------
NUM_CLASSES = 5


def _vit_classifier():
    return dict(
        _scope_='mmpretrain', type='ImageClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor',
                               num_classes=NUM_CLASSES),
        backbone=dict(type='VisionTransformer', arch=TINY_VIT, img_size=32,
                      patch_size=8),
        head=dict(type='VisionTransformerClsHead', num_classes=NUM_CLASSES,
                  in_channels=32))


def _cnn_classifier(width=8):
    return dict(
        _scope_='mmpretrain', type='ImageClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor',
                               num_classes=NUM_CLASSES),
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=width,
                      base_channels=width, strides=(1, 2, 2, 2),
                      out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=8 * width))


def _batch(n=4):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(0)
    return dict(
        inputs=[torch.randint(0, 256, (3, 32, 32), generator=g,
                              dtype=torch.uint8) for _ in range(n)],
        data_samples=[DataSample().set_gt_label(i % NUM_CLASSES)
                      for i in range(n)])


@pytest.mark.parametrize('direction', ['vit-to-cnn', 'cnn-to-vit'])
def test_wkd_f_across_families_trains_a_step(direction):
    """ViT teacher (4x4 patch grid, width 32) -> ResNet student (4x4,
    width 64) and back: the linear projector maps the student's width, and
    a step moves the student and the projector."""
    vit, cnn = _vit_classifier(), _cnn_classifier()
    student, teacher = (cnn, vit) if direction == 'vit-to-cnn' else (vit,
                                                                     cnn)
    widths = (64, 32) if direction == 'vit-to-cnn' else (32, 64)
    vit_stage = 'layers.1'
    torch.manual_seed(0)
    model = ClassificationDistiller(
        student=student, teacher=teacher,
        distill_losses=dict(loss_wkd_f=dict(type='mmkd.WKDFeatureLoss',
                                            grid=1, loss_weight=1.0)),
        distill_inputs=dict(loss_wkd_f=dict(
            source='feature', connector='proj',
            **{f'{"teacher" if direction == "vit-to-cnn" else "student"}'
               '_stage': vit_stage})),
        connectors=dict(proj=dict(type='mmkd.LinearMapConnector',
                                  in_channels=widths[0],
                                  out_channels=widths[1])),
        probe_size=32)
    s_shapes, t_shapes = model.recorded_shapes(torch.zeros(2, 3, 32, 32))
    stage = {'vit-to-cnn': (None, vit_stage)}.get(direction, (vit_stage,
                                                             None))
    assert s_shapes[stage[0]] == (2, widths[0], 4, 4)
    assert t_shapes[stage[1]] == (2, widths[1], 4, 4)
    before = [p.detach().clone() for p in model.connectors.parameters()]
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    losses = model.train_step(_batch(), wrapper)
    assert torch.isfinite(losses['distill.loss_wkd_f'])
    assert float(losses['distill.loss_wkd_f']) > 0
    assert any(not torch.equal(b, p) for b, p in zip(
        before, model.connectors.parameters()))


def test_pooled_vit_output_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="out_type='featmap'"):
        model = ClassificationDistiller(
            student=_cnn_classifier(), teacher=_vit_classifier(),
            distill_losses=dict(loss_wkd_f=dict(type='mmkd.WKDFeatureLoss',
                                                grid=1)),
            distill_inputs=dict(loss_wkd_f=dict(source='feature',
                                                connector='proj')),
            connectors=dict(proj=dict(type='mmkd.LinearMapConnector',
                                      in_channels=64, out_channels=32)),
            probe_size=None)
        model.train_step(_batch(), OptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.1)))


def test_linear_map_connector_resizes_to_the_teacher_grid():
    conn = LinearMapConnector(4, 6, out_size=(2, 3))
    x = torch.randn(2, 4, 4, 6)
    # pooling then the linear map = the linear map of each cell's mean
    want = conn.linear(x.reshape(2, 4, 2, 2, 3, 2).mean((3, 5)))
    torch.testing.assert_close(conn(x), want)
    up = conn(torch.randn(2, 4, 1, 1))
    assert up.shape == (2, 6, 2, 3)
    assert LinearMapConnector(4, 6)(x).shape == (2, 6, 4, 6)
    assert not hasattr(LinearMapConnector(4, 6), 'out_size')
    with pytest.raises(ValueError, match='mmkd.LinearConnector'):
        conn(torch.randn(2, 4))
