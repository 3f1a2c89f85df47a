# WKD-L + WKD-F, ImageNet ResNet34 -> ResNet18 (paper: 72.76 top-1). As the
# single-term configs, with the official combined weights: lambda 10 and
# w_F 1.0, both decayed with a cosine from the first epoch. The student
# feature goes through the bottleneck projector, as in the official code
# (see wkd-f_resnet34-to-resnet18_8xb32-100e_in1k.py).
_base_ = [
    './wkd-l_resnet34-to-resnet18_8xb32-100e_in1k.py',
]

model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(wd_weight=10.0),
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=4,
            eps=1e-5,
            mean_cov_ratio=2.0,
            covariance='diag',
            loss_weight=1.0)),
    distill_inputs=dict(loss_wkd_f=dict(source='feature', connector='proj')),
    connectors=dict(proj=_base_.projector))
