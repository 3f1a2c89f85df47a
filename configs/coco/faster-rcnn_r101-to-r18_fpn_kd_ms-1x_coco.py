# KD baseline on the same aligned RoI logits.
_base_ = './faster-rcnn_r101-to-r18_fpn_distill_ms-1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_kd=dict(type='mmkd.KDLoss', temperature=1.0, loss_weight=1.0)),
    distill_inputs=dict(loss_kd='roi_cls'))
