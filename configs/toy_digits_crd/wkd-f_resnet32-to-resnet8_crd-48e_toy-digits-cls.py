# WKD-F on the toy CRD pair, the official resnet32x4 -> resnet8x4 values
# (w_F 0.08, mean-cov ratio 4, grid 1, the 1x1 ConvReg projector; its sweep
# on val is centred there), w_F decayed with a cosine after epoch 30 of 48.
# The sweep (seed 0, 0.02-1.28) chose w_F 0.32 on val.
_base_ = [
    './_base_/resnet32-to-resnet8_crd-48e_toy-digits-cls.py',
    '../cifar100/_base_/methods/wkd.py',
]

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            _base_.wkd_f, loss_weight=0.32, mean_cov_ratio=4.0, grid=1)),
    distill_inputs=dict(loss_wkd_f=_base_.wkd_f_input),
    connectors=dict(proj=_base_.projector))
custom_hooks = [
    dict(_base_.custom_hooks[0], begin=30), _base_.custom_hooks[1]
]
