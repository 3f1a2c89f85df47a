# WKD-L + WKD-F, resnet32x4 -> shufflenet-v2. The official code gives no
# weights for this pair: these are the official values of the nearest pair,
# wrn_40_2 -> ShuffleV1 (across architectures): seed 10; lambda 60, tau 4,
# kappa 1; w_F 0.5, mean-cov ratio 3, grid 4.
_base_ = [
    './_base_/pairs/resnet32x4-to-shufflenet-v2.py',
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
