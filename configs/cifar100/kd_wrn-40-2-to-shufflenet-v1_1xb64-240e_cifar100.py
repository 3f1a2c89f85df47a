# KD, wrn-40-2 -> shufflenet-v1, as mdistiller runs it
# (configs/cifar100/kd.yaml and its defaults; the pair's recipe and lr): tau 4,
# KD weight 0.9, CE weight 0.1. Published (DKD / RepDistiller READMEs): 74.83
# top-1.
_base_ = [
    './_base_/pairs/wrn-40-2-to-shufflenet-v1.py',
    './_base_/methods/kd.py',
]

model = dict(
    student=dict(head=dict(loss=dict(loss_weight=_base_.kd_ce_weight))),
    distill_losses=dict(loss_kd=_base_.kd),
    distill_inputs=dict(loss_kd='logits'))
