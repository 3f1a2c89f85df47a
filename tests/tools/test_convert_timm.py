# Copyright (c) OpenMMLab. All rights reserved.
"""tools/convert_timm.py: a timm ViT written as an mmpretrain checkpoint
gives timm's logits once loaded, from a classifier or a distillation
config."""
import os.path as osp
import sys

import pytest
import torch

pytest.importorskip('mmpretrain')
timm = pytest.importorskip('timm', reason='timm is the reference here')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
import convert_timm  # noqa: E402

HETERO = osp.join(ROOT, 'configs', 'toy_digits_hetero')
OFA = osp.join(ROOT, 'configs', 'cifar100_hetero')
STUDENT = osp.join(HETERO, 'vit-w48-d4_24e_toy-digits-cls.py')
# the ViT-S is the teacher here (a timm teacher, as OFA releases them)
TEACHER = osp.join(OFA, 'vit-s_8xb64-300e_cifar100.py')
DISTILL = osp.join(OFA, 'wkd-f_vit-s-to-resnet18_8xb64-300e_cifar100.py')
# a toy pair whose student is a CIFAR zoo ResNet, which timm lacks
TOY_DISTILL = osp.join(HETERO,
                       'wkd-f_cvit-w96-to-resnet8_48e_toy-digits-cls.py')
#: config -> timm vit_small_patch16_224 arguments and the input size
VIT = {
    STUDENT: (dict(img_size=32, patch_size=4, embed_dim=48, depth=4,
                   num_heads=3, num_classes=10), 32),
    TEACHER: (dict(num_classes=100), 224),
}


def _timm_vit(tmp_path, config=STUDENT):
    torch.manual_seed(0)
    ref = timm.create_model('vit_small_patch16_224',
                            **VIT[config][0]).eval()
    path = tmp_path / 'vit_timm.pth'
    torch.save(dict(state_dict=ref.state_dict(), epoch=1), path)
    return ref, path


@pytest.mark.parametrize('config,role,classifier', [
    (STUDENT, None, STUDENT), (DISTILL, 'teacher', TEACHER)])
def test_converted_timm_vit_gives_timm_logits(tmp_path, config, role,
                                              classifier):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmkd.models import build_model
    ref, path = _timm_vit(tmp_path, classifier)
    out = tmp_path / 'vit_mmpretrain.pth'
    argv = [config, str(path), str(out)] + (['--role', role] if role else [])
    assert convert_timm.main(argv) == 0
    init_default_scope('mmpretrain')
    model = build_model(Config.fromfile(classifier).model).eval()
    model.load_state_dict(torch.load(out)['state_dict'])
    size = VIT[classifier][1]
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        torch.testing.assert_close(model(x, mode='tensor'), ref(x),
                                   atol=2e-4, rtol=1e-4)


def test_a_distillation_config_needs_a_role(tmp_path, capsys):
    _, path = _timm_vit(tmp_path)
    assert convert_timm.main([TOY_DISTILL, str(path), str(tmp_path / 'o.pth')
                              ]) == 2
    assert '--role student' in capsys.readouterr().err
    assert convert_timm.main([TOY_DISTILL, str(path), str(tmp_path / 'o.pth'),
                              '--role', 'student']) == 2
    assert 'No timm mapping for an mmpretrain CIFARResNet' in \
        capsys.readouterr().err
    assert not (tmp_path / 'o.pth').exists()
    assert convert_timm.main([STUDENT, str(tmp_path / 'missing.pth'),
                              str(tmp_path / 'o.pth')]) == 2
    assert 'does not exist' in capsys.readouterr().err
