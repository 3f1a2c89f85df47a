# WKD-L as across architectures in the WKD paper (tau 2, kappa 1, lambda 100
# from its grid 50-200; the sweep on val varies lambda). Toy pair CViT-w96 ->
# resnet8.
_base_ = [
    './_base_/cvit-w96-to-resnet8_48e_toy-digits-cls.py',
    '../cifar100_hetero/_base_/methods/wkd.py',
]

model = dict(
    distill_losses=dict(loss_wkd_l=_base_.wkd_l),
    distill_inputs=dict(loss_wkd_l=_base_.wkd_l_input))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
