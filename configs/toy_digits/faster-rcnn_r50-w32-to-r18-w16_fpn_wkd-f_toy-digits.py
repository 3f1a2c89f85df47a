# WKD-F on the RoIAlign features of the student's sampled RoIs (the paper's
# detection choice): diagonal Gaussians on a 4x4 grid of the 7x7 features.
# The student's 64-channel RoI features go through a 1x1 connector to the
# teacher's 128 channels.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=4,
            mean_cov_ratio=2.0,
            loss_weight=0.08)),  # chosen on val (README, sweep table)
    distill_inputs=dict(loss_wkd_f=dict(source='roi_feat', connector='roi')),
    connectors=dict(
        roi=dict(type='mmkd.ConvConnector', in_channels=64,
                 out_channels=128)))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=False),
    dict(type='mmkd.StudentCheckpointHook'),
]
