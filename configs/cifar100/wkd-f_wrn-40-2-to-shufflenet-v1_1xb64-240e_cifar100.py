# WKD-F, wrn-40-2 -> shufflenet-v1: the official WKD config
# configs/cifar100/wkd_f/wrn40_2_shuv1.yaml (JiamingLv/WKD @214cf88): seed 10,
# w_F 0.3, mean-cov ratio 3, grid 4, the "conv1x1" projector (the pair base's
# ConvReg); the official README reports 77.36 top-1 (best epoch).
_base_ = [
    './_base_/pairs/wrn-40-2-to-shufflenet-v1.py',
    './_base_/methods/wkd.py',
]

randomness = dict(seed=10)
model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            _base_.wkd_f, loss_weight=0.3, mean_cov_ratio=3.0, grid=4)),
    distill_inputs=dict(loss_wkd_f=_base_.wkd_f_input),
    connectors=dict(proj=_base_.projector))
