# KD with mdistiller's settings (tau 4, KD weight 0.9, CE weight 0.1; the
# sweep on val is centred there). Toy pair resnet32 -> CViT-w48.
_base_ = [
    './_base_/resnet32-to-cvit-w48_96e_toy-digits-cls.py',
    '../cifar100_hetero/_base_/methods/kd.py',
]

model = dict(
    student=dict(head=dict(loss=dict(loss_weight=_base_.kd_ce_weight))),
    distill_losses=dict(loss_kd=_base_.kd),
    distill_inputs=dict(loss_kd='logits'))
