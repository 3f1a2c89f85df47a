# WKD-L on the RoI classification head (81 logits with background);
# the teacher RoI head scores the student's sampled RoIs.
_base_ = './faster-rcnn_r50-to-mobilenetv2_fpn_distill_ms-1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(
            type='mmkd.WKDLogitLoss',
            cost_matrix=None,  # set by CostMatrixHook
            temperature=2.0,
            wd_weight=10.0,
            sinkhorn_reg=0.05,
            sinkhorn_iters=10,
            loss_weight=1.0)),
    distill_inputs=dict(loss_wkd_l='roi_cls'))

custom_hooks = [
    dict(
        type='mmkd.CostMatrixHook',
        cost_file=_base_.cost_file,
        kappa=1.0,
        num_per_class=100),
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
