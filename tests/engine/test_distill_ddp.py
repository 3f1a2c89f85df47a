# Copyright (c) OpenMMLab. All rights reserved.
"""Two CPU processes (gloo) with half the batch give the same first
iteration as one process: same losses, same all-reduced gradients, no
unused-parameter error with a frozen teacher inside the wrapped model.
For DetectionDistiller (Faster R-CNN) and SingleStageDistiller (GFL)."""
import os.path as osp
import sys

import pytest
import torch

from mmkd.utils import finish_distributed

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(HERE, '..', 'models'))
from gloo_helpers import init_gloo, spawn_two  # noqa: E402


def deterministic_cfg():
    """Samplers that keep every candidate, so sampling is not random."""
    from distill_helpers import tiny_detector_cfg
    cfg = tiny_detector_cfg()
    cfg.train_cfg.rpn.sampler.update(num=100000)
    cfg.train_cfg.rcnn.sampler.update(num=100000, pos_fraction=1.0)
    return cfg


def build(seed=0, kind='two_stage'):
    from distill_helpers import build_distiller, setup_mmdet, teacher_cfg
    setup_mmdet()
    if kind == 'one_stage':
        return build_one_stage(seed)
    teacher = teacher_cfg(fpn=32)
    teacher.train_cfg = deterministic_cfg().train_cfg
    return build_distiller(
        student=deterministic_cfg(),
        teacher=teacher,
        seed=seed,
        distill_losses=dict(
            loss_kd=dict(type='mmdet.MSELoss'),
            loss_f=dict(type='mmkd.WKDFeatureLoss', grid=1)),
        distill_inputs=dict(
            loss_kd='roi_cls',
            # P6 of a 64 px image is 1x1: too small for a variance
            loss_f=dict(source='fpn', connector='fpn', levels=[0, 1, 2, 3])),
        connectors=dict(
            fpn=dict(
                type='mmkd.ConvConnector', in_channels=16,
                out_channels=32)))


def build_one_stage(seed=0):
    """GFL pair with a dense class term, the box W1 and an FPN term (the
    head's ATSS assignment is deterministic, its loss normalisers are
    all-reduced by mmdet)."""
    from distill_helpers import tiny_single_stage_cfg

    from mmkd.models import SingleStageDistiller
    torch.manual_seed(seed)
    return SingleStageDistiller(
        student=tiny_single_stage_cfg('gfl'),
        teacher=tiny_single_stage_cfg('gfl', base_channels=16, fpn=32),
        distill_losses=dict(
            loss_kd=dict(type='mmkd.KDLoss'),
            loss_box=dict(type='mmkd.WassersteinBoxLoss'),
            loss_f=dict(type='mmdet.MSELoss')),
        distill_inputs=dict(
            loss_kd='dense_cls',
            loss_box='dense_box',
            loss_f=dict(source='fpn', connector='fpn')),
        connectors=dict(
            fpn=dict(
                type='mmkd.ConvConnector', in_channels=16,
                out_channels=32)))


def one_image():
    from distill_helpers import packed_batch
    return packed_batch(batch_size=1, num_items=[3])


def step(model, forward, packed):
    data = model.data_preprocessor(packed, True)
    losses = forward(data['inputs'], data['data_samples'], mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    grads = {
        n: p.grad.detach().clone()
        for n, p in model.named_parameters() if p.grad is not None
    }
    flat = {
        k: (sum(v) if isinstance(v, list) else v).detach().clone()
        for k, v in losses.items()
    }
    return flat, grads


def worker(rank, port, out_dir, kind):
    init_gloo(rank, port)
    from mmkd.engine import MMKDDistributedDataParallel
    model = build(kind=kind)
    model.train()
    ddp = MMKDDistributedDataParallel(
        module=model, broadcast_buffers=False, find_unused_parameters=False)
    losses, grads = step(model, ddp, one_image())
    torch.save(dict(losses=losses, grads=grads),
               osp.join(out_dir, f'rank{rank}.pth'))
    finish_distributed()


@pytest.mark.parametrize('kind', ['two_stage', 'one_stage'])
def test_two_processes_match_one_process(tmp_path, kind):
    spawn_two(worker, str(tmp_path), kind)
    ranks = [
        torch.load(tmp_path / f'rank{r}.pth', weights_only=True)
        for r in range(2)
    ]
    # one process, the same image twice
    model = build(kind=kind)
    model.train()
    packed = one_image()
    batch = dict(
        inputs=packed['inputs'] * 2,
        data_samples=[packed['data_samples'][0],
                      packed['data_samples'][0].clone()])
    losses, grads = step(model, model, batch)
    terms = {k for k in losses if k.startswith('distill.loss')}
    assert terms == ({'distill.loss_kd', 'distill.loss_box', 'distill.loss_f'}
                     if kind == 'one_stage' else
                     {'distill.loss_kd', 'distill.loss_f'})
    for rank in ranks:
        assert set(rank['losses']) == set(losses)
        for key, value in losses.items():
            if isinstance(value, torch.Tensor) and 'loss' in key:
                assert torch.allclose(rank['losses'][key], value,
                                      rtol=1e-4, atol=1e-6), key
    # DDP averaged the gradients over the ranks: equal to one process
    assert not any(n.startswith('teacher.') for n in ranks[0]['grads'])
    assert any(n.startswith('connectors.') for n in ranks[0]['grads'])
    assert set(ranks[0]['grads']) == set(grads)
    for name, grad in grads.items():
        for rank in ranks:
            diff = (rank['grads'][name] - grad).norm()
            assert diff <= 1e-3 * grad.norm() + 1e-6, name
