# WKD-F on the FPN outputs P3-P5 (16x16, 8x8, 4x4 at 128 px), one Gaussian
# per image and 2x2 grid cell per level, summed; 1x1 connector 64 -> 128
# shared by the levels. P6/P7 (2x2, 1x1) are too small for a 2x2 grid (the
# unbiased variance needs 2 positions per cell). grid 2; w_F 0.01, the toy
# Faster R-CNN WKD-F-on-FPN weight before its own sweep, kept by the toy
# RetinaNet study's sweep on val.
_base_ = './retinanet_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=2,
            mean_cov_ratio=2.0,
            loss_weight=0.01)),
    distill_inputs=dict(
        loss_wkd_f=dict(
            source='fpn',
            connector='fpn',
            levels=[0, 1, 2],
            level_weights=[1.0, 1.0, 1.0])),
    connectors=dict(
        fpn=dict(type='mmkd.ConvConnector', in_channels=64,
                 out_channels=128)))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=False),
    dict(type='mmkd.StudentCheckpointHook'),
]
