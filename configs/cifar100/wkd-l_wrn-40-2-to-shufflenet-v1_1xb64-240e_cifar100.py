# WKD-L, wrn-40-2 -> shufflenet-v1: the official WKD config
# configs/cifar100/wkd_l/wrn40_2_shuv1.yaml (JiamingLv/WKD @214cf88): seed 42,
# lambda 200, tau 6, kappa 1; the official README reports 76.72 top-1 (best
# epoch).
_base_ = [
    './_base_/pairs/wrn-40-2-to-shufflenet-v1.py',
    './_base_/methods/wkd.py',
]

randomness = dict(seed=42)
model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(_base_.wkd_l, temperature=6.0, wd_weight=200.0)),
    distill_inputs=dict(loss_wkd_l=_base_.wkd_l_input))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
