# DKD on the toy CRD pair with mdistiller's settings (alpha 1, beta 8, tau
# 4; the sweep on val scales the whole term), warmed up over the first 4
# epochs (20 of 240 scaled).
_base_ = [
    './_base_/resnet32-to-resnet8_crd-48e_toy-digits-cls.py',
    '../cifar100/_base_/methods/dkd.py',
]

model = dict(
    distill_losses=dict(loss_dkd=_base_.dkd),
    distill_inputs=dict(loss_dkd='logits'))
custom_hooks = [
    dict(_base_.custom_hooks[0], warmup=4), _base_.custom_hooks[1]
]
