# WKD-L + WKD-F on the toy CRD pair, the official resnet32x4 -> resnet8x4
# values (lambda 200, tau 8; w_F 0.08, mean-cov ratio 8, grid 1; the sweep
# on val varies lambda), both decayed with a cosine after epoch 30 of 48.
# The sweep (seed 0, 12.5-800) chose lambda 50 on val.
_base_ = [
    './_base_/resnet32-to-resnet8_crd-48e_toy-digits-cls.py',
    '../cifar100/_base_/methods/wkd.py',
]

model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(_base_.wkd_l, temperature=8.0, wd_weight=50.0),
        loss_wkd_f=dict(
            _base_.wkd_f, loss_weight=0.08, mean_cov_ratio=8.0, grid=1)),
    distill_inputs=dict(
        loss_wkd_l=_base_.wkd_l_input, loss_wkd_f=_base_.wkd_f_input),
    connectors=dict(proj=_base_.projector))
custom_hooks = [
    _base_.cost_matrix_hook,
    dict(_base_.custom_hooks[0], begin=30), _base_.custom_hooks[1]
]
