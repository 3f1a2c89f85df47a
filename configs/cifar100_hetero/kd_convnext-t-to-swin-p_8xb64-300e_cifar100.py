# KD, ConvNeXt-T -> Swin-P on CIFAR-100 at 224 px, across architectures (the
# WKD paper's Table 6, OFA protocol): tau 4, KD weight 0.9, CE weight 0.1
# (_base_/methods/kd.py).
_base_ = [
    './_base_/pairs/convnext-t-to-swin-p.py',
    './_base_/methods/kd.py',
]

model = dict(
    student=dict(head=dict(loss=dict(loss_weight=_base_.kd_ce_weight))),
    distill_losses=dict(loss_kd=_base_.kd),
    distill_inputs=dict(loss_kd='logits'))
