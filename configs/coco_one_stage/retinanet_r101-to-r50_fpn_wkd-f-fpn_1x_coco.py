# WKD-F on the whole FPN outputs P3-P7 (256 channels both, no connector),
# 2x2 grid, w_F 0.005: the Faster R-CNN WKD-F-on-FPN configs (configs/coco);
# not tuned here. This is the setting a user reported not to help on
# RetinaNet (issue 12); wkd-f-fpn-gt follows the authors' advice.
_base_ = './retinanet_r101-to-r50_fpn_distill_1x_coco.py'

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
