# WKD-F on the 7x7 RoIAlign features of the student's sampled RoIs, 4x4
# grid (the paper's detection choice).
_base_ = './faster-rcnn_r50-to-mobilenetv2_fpn_distill_ms-1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=4,
            mean_cov_ratio=2.0,
            loss_weight=0.02)),
    distill_inputs=dict(loss_wkd_f='roi_feat'))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
