# WKD-F, ImageNet ResNet50 -> MobileNetV1 (paper: 73.12 top-1). The last
# stages differ in width (1024 vs 2048 channels, both 7 x 7), so the student
# goes through the ImageNet bottleneck projector (1x1 conv 256, 3x3 conv
# 256, 1x1 conv 2048, BN + ReLU; docs/methods.md section 2). gamma 2, 4 x 4 grid,
# w_F 0.005 decayed with a cosine from the first epoch.
_base_ = './_base_/resnet50-to-mobilenetv1_8xb32-100e_in1k.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=4,
            eps=1e-5,
            mean_cov_ratio=2.0,
            covariance='diag',
            loss_weight=0.005)),
    distill_inputs=dict(loss_wkd_f=dict(source='feature', connector='proj')),
    connectors=dict(proj=_base_.projector))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
