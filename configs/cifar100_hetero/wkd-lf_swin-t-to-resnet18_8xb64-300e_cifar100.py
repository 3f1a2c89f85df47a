# WKD-L + WKD-F, Swin-T -> ResNet18 on CIFAR-100 at 224 px, across
# architectures (the WKD paper's Table 6, OFA protocol): both terms with
# their single-term values (the paper gives no combined weights for this
# table; UNCONFIRMED).
_base_ = [
    './_base_/pairs/swin-t-to-resnet18.py',
    './_base_/methods/wkd.py',
]

model = dict(
    distill_losses=dict(loss_wkd_l=_base_.wkd_l, loss_wkd_f=_base_.wkd_f),
    distill_inputs=dict(
        loss_wkd_l=_base_.wkd_l_input, loss_wkd_f=_base_.feature_input),
    connectors=dict(proj=_base_.projector))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
