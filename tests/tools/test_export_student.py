# Copyright (c) OpenMMLab. All rights reserved.
"""tools/export_student.py: round trip to a plain mmdet student."""
import importlib.util
import os.path as osp
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'models'))
from distill_helpers import (build_distiller, make_batch,  # noqa: E402
                             setup_mmdet, teacher_cfg, tiny_detector_cfg)

setup_mmdet()

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'mmkd_tool_{name}', osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def trained(tmp_path):
    """A distiller after two SGD steps, saved like the runner saves it."""
    from mmengine.config import Config
    connectors = dict(
        roi=dict(type='mmkd.ConvConnector', in_channels=16, out_channels=32))
    kwargs = dict(
        distill_losses=dict(loss_f=dict(type='mmkd.WKDFeatureLoss', grid=2)),
        distill_inputs=dict(loss_f=dict(source='roi_feat', connector='roi')),
        connectors=connectors)
    model = build_distiller(teacher=teacher_cfg(fpn=32), **kwargs)
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs, samples = make_batch(model)
    for _ in range(2):
        total, _ = model.parse_losses(model.loss(inputs, samples))
        optim.zero_grad()
        total.backward()
        optim.step()
    ckpt = tmp_path / 'iter_2.pth'
    torch.save(
        dict(
            meta=dict(
                iter=2, seed=np.int64(0),
                dataset_meta=dict(classes=('a', 'b', 'c'))),
            state_dict=model.state_dict(),
            message_hub=dict()), ckpt)
    cfg = tmp_path / 'distill_cfg.py'
    Config(
        dict(
            default_scope='mmdet',
            model=dict(
                type='mmkd.DetectionDistiller',
                student=tiny_detector_cfg(),
                teacher=teacher_cfg(fpn=32),
                **kwargs))).dump(str(cfg))
    return model, str(cfg), str(ckpt)


def test_export_round_trip_gives_the_same_predictions(trained, tmp_path):
    model, cfg, ckpt = trained
    out = tmp_path / 'student.pth'
    assert load_tool('export_student').main([cfg, ckpt, str(out)]) == 0
    exported = torch.load(out, weights_only=True)  # loadable without mmkd
    assert set(exported) == {'state_dict', 'meta'}
    assert not any(k.startswith(('teacher.', 'connectors.', 'student.'))
                   for k in exported['state_dict'])
    assert exported['meta']['dataset_meta']['classes'] == ('a', 'b', 'c')
    # plain mmdet: build the student config and load as mmdet's tools do
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint
    plain = MODELS.build(tiny_detector_cfg())
    load_checkpoint(plain, str(out), map_location='cpu', strict=True)
    plain.eval()
    model.eval()
    inputs, samples = make_batch(model, training=False)
    with torch.no_grad():
        ours = model(inputs, [s.clone() for s in samples], mode='predict')
        ref = plain(inputs, [s.clone() for s in samples], mode='predict')
    for a, b in zip(ours, ref):
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)


def test_export_refuses_a_mismatching_student_config(trained, tmp_path):
    _, cfg, ckpt = trained
    tool = load_tool('export_student')
    with pytest.raises(RuntimeError, match='size mismatch|does not match'):
        tool.main([
            cfg, ckpt,
            str(tmp_path / 'x.pth'), '--cfg-options',
            'model.student.roi_head.bbox_head.fc_out_channels=48'
        ])
    assert not (tmp_path / 'x.pth').exists()


def test_export_bad_inputs(trained, tmp_path, capsys):
    _, cfg, ckpt = trained
    tool = load_tool('export_student')
    assert tool.main([cfg, str(tmp_path / 'nope.pth'),
                      str(tmp_path / 'o.pth')]) == 2
    assert 'does not exist' in capsys.readouterr().err
    torch.save(dict(state_dict=dict(w=torch.zeros(1))), tmp_path / 'x.pth')
    with pytest.raises(ValueError, match='no student weights'):
        tool.main([cfg, str(tmp_path / 'x.pth'), str(tmp_path / 'o.pth')])
