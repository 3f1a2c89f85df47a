# WKD-L + WKD-F, wrn-40-2 -> shufflenet-v1: the official WKD config
# configs/cifar100/wkd_lf/wrn40_2_shuv1.yaml (JiamingLv/WKD @214cf88): seed 10;
# lambda 60, tau 4, kappa 1; w_F 0.5, mean-cov ratio 3, grid 4, the "conv1x1"
# projector; the official README reports 77.50 top-1 (best epoch).
_base_ = [
    './_base_/pairs/wrn-40-2-to-shufflenet-v1.py',
    './_base_/methods/wkd.py',
]

randomness = dict(seed=10)
model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(_base_.wkd_l, temperature=4.0, wd_weight=60.0),
        loss_wkd_f=dict(
            _base_.wkd_f, loss_weight=0.5, mean_cov_ratio=3.0, grid=4)),
    distill_inputs=dict(
        loss_wkd_l=_base_.wkd_l_input, loss_wkd_f=_base_.wkd_f_input),
    connectors=dict(proj=_base_.projector))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
