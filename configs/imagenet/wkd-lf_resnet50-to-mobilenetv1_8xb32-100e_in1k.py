# WKD-L + WKD-F, ImageNet ResNet50 -> MobileNetV1 (paper: 73.69 top-1):
# lambda 25 (kappa 2) and w_F 0.005 with the bottleneck projector, both
# decayed with a cosine from the first epoch.
_base_ = [
    './wkd-l_resnet50-to-mobilenetv1_8xb32-100e_in1k.py',
]

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
