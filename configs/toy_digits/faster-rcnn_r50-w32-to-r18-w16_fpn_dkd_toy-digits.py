# DKD baseline on the same aligned RoI logits (detection ports: tau 1,
# alpha 1, beta 0.25; docs/methods.md section 5).
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_dkd=dict(
            type='mmkd.DKDLoss',
            alpha=1.0,
            beta=0.25,
            temperature=1.0,
            loss_weight=4.0)),  # chosen on val (README, sweep table)
    distill_inputs=dict(loss_dkd='roi_cls'))
