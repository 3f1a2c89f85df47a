# WKD-F on the whole FPN outputs P3-P7 (both 256 channels, no connector):
# one diagonal Gaussian per image and 2x2 grid cell per level. grid 2, mean
# /cov ratio 2, w_F 0.005: the Faster R-CNN WKD-F-on-FPN configs
# (configs/coco); not tuned here.
_base_ = './gfl_r101-to-r18_fpn_distill_1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=2,
            mean_cov_ratio=2.0,
            loss_weight=0.005)),
    distill_inputs=dict(loss_wkd_f=dict(source='fpn')))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
