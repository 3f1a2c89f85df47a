# WKD-L on the RoI classification head (11 logits: 10 digits + background).
# The teacher's RoI head scores the student's sampled RoIs; the cost matrix
# comes from the teacher's RoI features (built once by CostMatrixHook).
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(
            type='mmkd.WKDLogitLoss',
            cost_matrix=None,  # set by CostMatrixHook
            temperature=2.0,
            wd_weight=40.0,  # chosen on val (README, sweep table)
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
    # lambda decays with a cosine over the run (docs/methods.md section 4).
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=False),
    dict(type='mmkd.StudentCheckpointHook'),
]
