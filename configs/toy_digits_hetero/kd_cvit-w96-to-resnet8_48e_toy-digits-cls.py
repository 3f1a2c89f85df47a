# KD with mdistiller's settings (tau 4, KD weight 0.9, CE weight 0.1; the
# sweep on val is centred there). Toy pair CViT-w96 -> resnet8.
_base_ = [
    './_base_/cvit-w96-to-resnet8_48e_toy-digits-cls.py',
    '../cifar100_hetero/_base_/methods/kd.py',
]

model = dict(
    student=dict(head=dict(loss=dict(loss_weight=_base_.kd_ce_weight))),
    distill_losses=dict(loss_kd=_base_.kd),
    distill_inputs=dict(loss_kd='logits'))
