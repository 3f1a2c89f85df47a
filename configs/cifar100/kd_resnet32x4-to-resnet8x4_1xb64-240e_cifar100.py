# KD, resnet32x4 -> resnet8x4, as mdistiller runs it (configs/cifar100/kd.yaml
# and its defaults; the pair's recipe and lr): tau 4, KD weight 0.9, CE weight
# 0.1. Published (DKD / RepDistiller READMEs): 73.33 top-1.
_base_ = [
    './_base_/pairs/resnet32x4-to-resnet8x4.py',
    './_base_/methods/kd.py',
]

model = dict(
    student=dict(head=dict(loss=dict(loss_weight=_base_.kd_ce_weight))),
    distill_losses=dict(loss_kd=_base_.kd),
    distill_inputs=dict(loss_kd='logits'))
