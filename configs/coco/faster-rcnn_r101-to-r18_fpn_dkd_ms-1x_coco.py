# DKD baseline on the same aligned RoI logits (detection ports: tau 1,
# alpha 1, beta 0.25).
_base_ = './faster-rcnn_r101-to-r18_fpn_distill_ms-1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_dkd=dict(
            type='mmkd.DKDLoss',
            alpha=1.0,
            beta=0.25,
            temperature=1.0,
            loss_weight=1.0)),
    distill_inputs=dict(loss_dkd='roi_cls'))
