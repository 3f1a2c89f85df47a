# WKD-F, ConvNeXt-T -> Swin-P on CIFAR-100 at 224 px, across architectures
# (the WKD paper's Table 6, OFA protocol): grid 1, gamma 2, w_F 2e-2, the
# pair's linear projector (_base_/methods/wkd.py).
_base_ = [
    './_base_/pairs/convnext-t-to-swin-p.py',
    './_base_/methods/wkd.py',
]

model = dict(
    distill_losses=dict(loss_wkd_f=_base_.wkd_f),
    distill_inputs=dict(loss_wkd_f=_base_.feature_input),
    connectors=dict(proj=_base_.projector))
