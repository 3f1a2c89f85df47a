# WKD-F on the FPN outputs P2-P5, one Gaussian per image and 2x2 grid cell
# per level, summed over levels; 1x1 connector 64 -> 128 channels shared by
# the levels. P6 of a 128 px image is 2x2, too small for a 2x2 grid (the
# unbiased variance needs 2 positions per cell), so it is left out.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=2,
            mean_cov_ratio=2.0,
            loss_weight=0.0025)),  # chosen on val (README, sweep table)
    distill_inputs=dict(
        loss_wkd_f=dict(
            source='fpn',
            connector='fpn',
            levels=[0, 1, 2, 3],
            level_weights=[1.0, 1.0, 1.0, 1.0])),
    connectors=dict(
        fpn=dict(type='mmkd.ConvConnector', in_channels=64,
                 out_channels=128)))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=False),
    dict(type='mmkd.StudentCheckpointHook'),
]
