# Copyright (c) OpenMMLab. All rights reserved.
"""LD's KL on box distributions through SingleStageDistiller against
mmdet's own LDHead (the ``kl-box`` configs): the same per-edge KL and
weights; the distiller averages where LDHead sums."""
import torch
from distill_helpers import make_batch, setup_mmdet, tiny_single_stage_cfg

setup_mmdet()

from mmdet.models.utils import unpack_gt_instances  # noqa: E402
from mmdet.registry import MODELS  # noqa: E402

from mmkd.models import SingleStageDistiller  # noqa: E402
from mmkd.models.distillers import (dense_prior_labels,  # noqa: E402
                                    flatten_dense)


def test_kl_box_is_lds_loss_ld_over_the_sum_of_its_weights():
    torch.manual_seed(0)
    model = SingleStageDistiller(
        student=tiny_single_stage_cfg('gfl'),
        teacher=tiny_single_stage_cfg('gfl', base_channels=16),
        distill_losses=dict(
            loss_box=dict(
                type='mmdet.KnowledgeDistillationKLDivLoss', T=10,
                loss_weight=0.25)),
        distill_inputs=dict(
            loss_box=dict(source='dense_box', box_weight='student_score')))
    ld = MODELS.build(
        tiny_single_stage_cfg(
            'gfl',
            type='LDHead',
            loss_ld=dict(
                type='KnowledgeDistillationKLDivLoss', loss_weight=0.25,
                T=10)))
    ld.load_state_dict(model.student.state_dict())
    model.train()
    ld.train()
    inputs, samples = make_batch(model, num_items=[2, 3])
    ours = model.loss(inputs, samples)['distill.loss_box']

    with torch.no_grad():
        t_outs = model.teacher.bbox_head(model.teacher.extract_feat(inputs))
    x = ld.extract_feat(inputs)
    loss_ld = sum(ld.bbox_head.loss(x, t_outs, samples)['loss_ld'])
    # LD's weights: the student's max class score at its positives
    head = ld.bbox_head
    cls_scores = head(x)[0]
    gts, ignore, metas = unpack_gt_instances(samples)
    labels = dense_prior_labels(head, [c.shape[-2:] for c in cls_scores],
                                gts, metas, ignore)
    pos = labels < head.num_classes
    weights = flatten_dense(cls_scores, head.num_classes)[pos].sigmoid()
    weight_sum = float(weights.max(-1).values.sum())
    assert weight_sum > 0
    torch.testing.assert_close(
        float(ours), float(loss_ld) / weight_sum, rtol=1e-4, atol=1e-7)
