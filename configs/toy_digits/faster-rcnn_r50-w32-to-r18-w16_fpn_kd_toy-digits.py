# KD baseline (Hinton) on the same aligned RoI logits as WKD-L.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_kd=dict(type='mmkd.KDLoss', temperature=1.0, loss_weight=1.0)),
    distill_inputs=dict(loss_kd='roi_cls'))
