# Copyright (c) OpenMMLab. All rights reserved.
"""timm state dicts load into mmpretrain classifiers with the same outputs
(timm itself is the reference, random weights), through teacher_ckpt."""
import pytest
import torch

pytest.importorskip('mmpretrain')
timm = pytest.importorskip(
    'timm', reason='timm is the reference here (tools/setup_env.sh installs '
    'it for the tests: pip install --no-deps timm)')

from mmkd.models.backbones.timm_checkpoint import (  # noqa: E402
    looks_like_timm, timm_to_mmpretrain)
from mmkd.models.checkpoint_io import load_checkpoint_into  # noqa: E402

VIT = dict(embed_dims=48, num_layers=2, num_heads=3,
           feedforward_channels=192)
#: timm constructor kwargs, mmpretrain backbone, head, input size
CASES = {
    'vit': (dict(model_name='vit_small_patch16_224', embed_dim=48, depth=2,
                 num_heads=3, img_size=64),
            dict(type='VisionTransformer', arch=VIT, img_size=64,
                 patch_size=16),
            dict(type='VisionTransformerClsHead', in_channels=48), 64),
    'deit-t': (dict(model_name='deit_tiny_patch16_224', depth=2,
                    img_size=64),
               dict(type='VisionTransformer', arch=dict(
                   embed_dims=192, num_layers=2, num_heads=3,
                   feedforward_channels=768), img_size=64, patch_size=16),
               dict(type='VisionTransformerClsHead', in_channels=192), 64),
    'swin': (dict(model_name='swin_tiny_patch4_window7_224', embed_dim=24,
                  depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4),
                  img_size=224),
             dict(type='SwinTransformer', arch=dict(
                 embed_dims=24, depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4]),
                  img_size=224, window_size=7),
             dict(type='LinearClsHead', in_channels=192), 224),
    'convnext': (dict(model_name='convnext_tiny', depths=(1, 1, 2, 1),
                      dims=(16, 32, 48, 64)),
                 dict(type='ConvNeXt', arch=dict(depths=[1, 1, 2, 1],
                                                 channels=[16, 32, 48, 64])),
                 dict(type='LinearClsHead', in_channels=64), 64),
    'resnet18': (dict(model_name='resnet18'),
                 dict(type='ResNet', depth=18, out_indices=(3, )),
                 dict(type='LinearClsHead', in_channels=512), 64),
}
NECK = {'swin': dict(type='GlobalAveragePooling'),
        'resnet18': dict(type='GlobalAveragePooling')}


def _pair(case):
    import mmpretrain.models  # noqa: F401
    from mmpretrain.registry import MODELS
    timm_kwargs, backbone, head, size = CASES[case]
    torch.manual_seed(0)
    ref = timm.create_model(pretrained=False, num_classes=10, **timm_kwargs)
    # non-zero everywhere (timm zero-inits some layers and LayerScale-like
    # gammas): a missed or misplaced weight must change the output
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    ref.eval()
    model = MODELS.build(dict(_scope_='mmpretrain', type='ImageClassifier',
                              backbone=backbone, neck=NECK.get(case),
                              head=dict(head, num_classes=10)))
    model.eval()
    return ref, model, size


@pytest.mark.parametrize('case', list(CASES))
def test_same_logits_as_timm(case):
    ref, model, size = _pair(case)
    state = ref.state_dict()
    assert looks_like_timm(state, model)
    converted = timm_to_mmpretrain(state, model)
    missing = set(model.state_dict()) - set(converted)
    assert not {k for k in missing if not k.endswith('num_batches_tracked')}
    model.load_state_dict(converted, strict=False)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        torch.testing.assert_close(model(x, mode='tensor'), ref(x),
                                   atol=2e-4, rtol=1e-4)


def test_teacher_ckpt_takes_a_timm_file_and_names_bad_keys(tmp_path):
    ref, model, size = _pair('convnext')
    path = tmp_path / 'convnext_tiny_cifar100.pth'
    torch.save(dict(state_dict=ref.state_dict(), epoch=300), path)
    load_checkpoint_into(model, str(path))
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        torch.testing.assert_close(model(x, mode='tensor'), ref(x),
                                   atol=2e-4, rtol=1e-4)
    state = dict(ref.state_dict(), **{'stages.9.blocks.0.gamma':
                                      torch.zeros(3)})
    torch.save(state, path)
    with pytest.raises(RuntimeError, match=r'stages\.9\.blocks\.0\.gamma'):
        load_checkpoint_into(model, str(path))
