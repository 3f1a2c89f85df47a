# WKD-L on the toy CRD pair, the official resnet32x4 -> resnet8x4 values
# (lambda 600, tau 8, kappa 1; its sweep on val is centred there), lambda
# decayed with a cosine after epoch 30 of 48 (150 of 240 scaled). The sweep
# (seed 0, 37.5-2400) chose lambda 150 on val (tied with 600; 2400 diverges).
_base_ = [
    './_base_/resnet32-to-resnet8_crd-48e_toy-digits-cls.py',
    '../cifar100/_base_/methods/wkd.py',
]

model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(_base_.wkd_l, temperature=8.0, wd_weight=150.0)),
    distill_inputs=dict(loss_wkd_l=_base_.wkd_l_input))
custom_hooks = [
    _base_.cost_matrix_hook,
    dict(_base_.custom_hooks[0], begin=30), _base_.custom_hooks[1]
]
