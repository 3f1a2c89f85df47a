# WKD-L, wrn-40-2 -> wrn-40-1. The official code gives no weights for this
# pair: these are the official values of the nearest pair, resnet32x4 ->
# resnet8x4 (within architectures): seed 42, lambda 600, tau 8, kappa 1.
_base_ = [
    './_base_/pairs/wrn-40-2-to-wrn-40-1.py',
    './_base_/methods/wkd.py',
]

randomness = dict(seed=42)
model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(_base_.wkd_l, temperature=8.0, wd_weight=600.0)),
    distill_inputs=dict(loss_wkd_l=_base_.wkd_l_input))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
