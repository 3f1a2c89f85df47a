# WKD-L, vgg13 -> mobilenet-v2-half. The official code gives no weights for
# this pair: these are the official values of the nearest pair, wrn_40_2 ->
# ShuffleV1 (across architectures): seed 42, lambda 200, tau 6, kappa 1.
_base_ = [
    './_base_/pairs/vgg13-to-mobilenet-v2-half.py',
    './_base_/methods/wkd.py',
]

randomness = dict(seed=42)
model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(_base_.wkd_l, temperature=6.0, wd_weight=200.0)),
    distill_inputs=dict(loss_wkd_l=_base_.wkd_l_input))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
