# WKD-L, resnet32x4 -> resnet8x4: the official WKD config
# configs/cifar100/wkd_l/res32x4_res8x4.yaml (JiamingLv/WKD @214cf88): seed 42,
# lambda 600, tau 8, kappa 1; the official README reports 76.53 top-1 (best
# epoch).
_base_ = [
    './_base_/pairs/resnet32x4-to-resnet8x4.py',
    './_base_/methods/wkd.py',
]

randomness = dict(seed=42)
model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(_base_.wkd_l, temperature=8.0, wd_weight=600.0)),
    distill_inputs=dict(loss_wkd_l=_base_.wkd_l_input))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
