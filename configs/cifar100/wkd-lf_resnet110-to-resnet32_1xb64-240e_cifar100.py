# WKD-L + WKD-F, resnet110 -> resnet32. The official code gives no weights for
# this pair: these are the official values of the nearest pair, resnet32x4 ->
# resnet8x4 (within architectures): seed 10; lambda 200, tau 8, kappa 1; w_F
# 0.08, mean-cov ratio 8, grid 1.
_base_ = [
    './_base_/pairs/resnet110-to-resnet32.py',
    './_base_/methods/wkd.py',
]

randomness = dict(seed=10)
model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(_base_.wkd_l, temperature=8.0, wd_weight=200.0),
        loss_wkd_f=dict(
            _base_.wkd_f, loss_weight=0.08, mean_cov_ratio=8.0, grid=1)),
    distill_inputs=dict(
        loss_wkd_l=_base_.wkd_l_input, loss_wkd_f=_base_.wkd_f_input),
    connectors=dict(proj=_base_.projector))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
