# Copyright (c) OpenMMLab. All rights reserved.
"""ConvStemViT: the stem against a loop of the convolutions it stacks, the
token grid and map readers shared with the plain ViT, and its errors."""
import pytest
import torch
import torch.nn.functional as F

from mmkd.models.adapters.feature_map import map_recorder, recorded_maps
from mmkd.models.backbones import ConvStemViT

VisionTransformer = pytest.importorskip(
    'mmpretrain.models.backbones').VisionTransformer

ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def _vit(**kwargs):
    torch.manual_seed(0)
    model = ConvStemViT(arch=ARCH, img_size=32, patch_size=4, **kwargs)
    model.init_weights()
    model.eval()  # mmpretrain's ViT.train() returns None
    return model


def test_stem_tokens_are_the_convolutions_flattened():
    """Tokens = 1x1 projection of (3x3 s2 conv, BN, ReLU) x 2, row-major,
    written out with F.conv2d / F.batch_norm."""
    vit = _vit(stem_channels=(8, 16))
    stem = vit.patch_embed
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        tokens, hw = stem(x)
        y = x
        for block in stem.convs:
            bn = block.bn
            y = F.conv2d(y, block.conv.weight, None, stride=2, padding=1)
            y = F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight,
                             bn.bias, False, 0.0, bn.eps).relu()
        y = F.conv2d(y, stem.projection.weight, stem.projection.bias)
    assert hw == (8, 8)
    assert tokens.shape == (2, 64, 32)
    torch.testing.assert_close(tokens, y.flatten(2).transpose(1, 2))


@pytest.mark.parametrize('out_type,shape', [('cls_token', (2, 32)),
                                            ('avg_featmap', (2, 32)),
                                            ('featmap', (2, 32, 8, 8))])
def test_outputs_and_grid_are_the_plain_vits(out_type, shape):
    vit = _vit(out_type=out_type)
    assert type(vit) is VisionTransformer  # readers treat it as a ViT
    assert tuple(vit.patch_resolution) == (8, 8)
    assert vit.pos_embed.shape == (1, 65, 32)
    out = vit(torch.randn(2, 3, 32, 32))
    assert out[-1].shape == shape


@pytest.mark.parametrize('size', [(30, 30), (32, 44)])
def test_stem_grid_matches_the_patchify_grid(size):
    """Sizes not divisible by the patch: mmcv's PatchEmbed pads them
    ('corner'); the stem's grid is the same ceil(size / 4)."""
    vit = _vit()
    tokens, hw = vit.patch_embed(torch.randn(1, 3, *size))
    want = tuple(-(-s // 4) for s in size)
    assert hw == want and tokens.shape[1] == want[0] * want[1]
    torch.manual_seed(0)
    plain = VisionTransformer(arch=ARCH, img_size=32, patch_size=4)
    assert plain.patch_embed(torch.randn(1, 3, *size))[1] == want
    assert vit(torch.randn(1, 3, *size))[-1].shape == (1, 32)


def test_feature_readers_give_the_patch_map_and_gradients_reach_stem():
    """The recorded final norm becomes (N, C, 8, 8), the class token
    dropped, and a loss on it trains the convolutional stem."""
    vit = _vit()
    vit.train()
    stages = {'ln1': vit.ln1}
    rec = map_recorder(vit, stages)
    x = torch.randn(2, 3, 32, 32)
    with rec.recording():
        vit(x)
    fmap = recorded_maps(rec, vit, ['ln1'])['ln1']
    assert fmap.shape == (2, 32, 8, 8)
    fmap.square().mean().backward()
    grad = vit.patch_embed.convs[0].conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match=r'log2\(patch_size\)'):
        ConvStemViT(arch=ARCH, img_size=32, patch_size=4,
                    stem_channels=(8, 16, 32))
    with pytest.raises(ValueError, match='set stem_channels instead'):
        ConvStemViT(arch=ARCH, img_size=32, patch_size=4,
                    patch_cfg=dict(padding=1))
