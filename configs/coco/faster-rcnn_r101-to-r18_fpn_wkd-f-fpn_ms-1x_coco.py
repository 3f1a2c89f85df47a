# WKD-F on the FPN outputs P2-P6 (both FPNs have 256 channels, no
# connector), one diagonal Gaussian per image and 2x2 grid cell per level.
_base_ = './faster-rcnn_r101-to-r18_fpn_distill_ms-1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=2,
            mean_cov_ratio=2.0,
            loss_weight=0.005)),
    distill_inputs=dict(loss_wkd_f='fpn'))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
