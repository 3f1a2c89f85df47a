# Copyright (c) OpenMMLab. All rights reserved.
"""The shared CRD CIFAR teacher files as ``teacher_ckpt``/``student_ckpt``:
the official ``{'model': ...}`` format loads into the mmkd classifier with
the same logits, safely (``weights_only``), with errors that name the fix."""
import argparse
import os.path as osp

import numpy as np
import pytest
import torch


@pytest.fixture(scope='module', autouse=True)
def _register():
    import mmpretrain.models  # noqa: F401

    import mmkd.models.backbones  # noqa: F401
    import mmkd.models.distillers.classification_distiller  # noqa: F401


def _classifier(arch, seed):
    from mmpretrain.registry import MODELS

    from mmkd.models.backbones import cifar_classifier_cfg
    torch.manual_seed(seed)
    model = MODELS.build(cifar_classifier_cfg(arch))
    with torch.no_grad():  # random BN statistics too, so they must load
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _crd_file(model, arch, path, **extra):
    """What RepDistiller's train_teacher.py (and the cifar_teachers release)
    writes: the official state dict under 'model' with the training state."""
    from mmkd.models.backbones import mmkd_to_official
    optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model(torch.rand(2, 3, 32, 32), mode='tensor').sum().backward()
    optim.step()  # momentum buffers in the optimizer state
    torch.save(
        dict(
            epoch=240,
            model=mmkd_to_official(model.state_dict(), arch),
            accuracy=torch.tensor(79.42),
            optimizer=optim.state_dict(),
            opt=argparse.Namespace(model=arch, learning_rate=0.05),
            best_acc=np.float64(79.42),
            **extra), path)
    return path


def _distiller(**kwargs):
    from mmkd.models import ClassificationDistiller
    from mmkd.models.backbones import cifar_classifier_cfg
    return ClassificationDistiller(
        student=cifar_classifier_cfg('resnet8'),
        teacher=cifar_classifier_cfg('wrn_16_1'),
        distill_losses=dict(loss_kd=dict(type='mmkd.KDLoss')),
        distill_inputs=dict(loss_kd='logits'),
        **kwargs)


def test_a_crd_teacher_file_gives_the_same_logits(tmp_path):
    official = _classifier('wrn_16_1', seed=1)
    ckpt = _crd_file(official, 'wrn_16_1', str(tmp_path / 'ckpt.pth'))
    model = _distiller(teacher_ckpt=ckpt)
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            model.teacher(x, mode='tensor'), official(x, mode='tensor'))
    for key, value in official.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value), key


def test_a_student_starts_from_a_crd_file(tmp_path):
    official = _classifier('resnet8', seed=2)
    ckpt = _crd_file(official, 'resnet8', str(tmp_path / 'ckpt.pth'))
    model = _distiller(student_ckpt=ckpt)
    model.init_weights()  # the runner's init must not overwrite them
    for key, value in official.state_dict().items():
        assert torch.equal(model.student.state_dict()[key], value), key


def test_a_code_running_pickle_is_refused(tmp_path):
    marker = tmp_path / 'ran'

    class Evil:

        def __reduce__(self):
            return (open, (str(marker), 'w'))

    path = _crd_file(
        _classifier('wrn_16_1', seed=1), 'wrn_16_1',
        str(tmp_path / 'evil.pth'), payload=Evil())
    with pytest.raises(RuntimeError, match='Could not read teacher_ckpt'):
        _distiller(teacher_ckpt=path)
    assert not marker.exists()


def test_a_file_of_another_arch_names_the_keys(tmp_path):
    ckpt = _crd_file(
        _classifier('resnet8', seed=1), 'resnet8',
        str(tmp_path / 'resnet8.pth'))
    with pytest.raises(RuntimeError,
                       match=r"teacher_ckpt .*resnet8.pth.*'wrn_16_1'.*"
                       r'missing keys'):
        _distiller(teacher_ckpt=ckpt)


def test_a_crd_file_for_another_classifier_says_what_fits(tmp_path):
    from mmkd.models import ClassificationDistiller
    from test_classification_distiller import classifier_cfg
    ckpt = _crd_file(
        _classifier('resnet8', seed=1), 'resnet8', str(tmp_path / 'r8.pth'))
    with pytest.raises(RuntimeError,
                       match="the format of the CRD / mdistiller CIFAR "
                       'checkpoints, but the model is none of the CIFAR zoo'):
        ClassificationDistiller(
            student=classifier_cfg(8),
            teacher=classifier_cfg(16),
            teacher_ckpt=ckpt,
            distill_losses=dict(loss_kd=dict(type='mmkd.KDLoss')),
            distill_inputs=dict(loss_kd='logits'))
    assert osp.isfile(ckpt)
