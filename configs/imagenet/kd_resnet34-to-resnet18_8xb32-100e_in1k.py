# Hinton KD baseline, ImageNet ResNet34 -> ResNet18 (paper: 71.03 top-1),
# with mdistiller's ImageNet settings: tau 1, CE weight 0.5, KD weight 0.5,
# constant weights.
_base_ = './_base_/resnet34-to-resnet18_8xb32-100e_in1k.py'

model = dict(
    student=dict(head=dict(loss=dict(loss_weight=0.5))),
    distill_losses=dict(
        loss_kd=dict(type='mmkd.KDLoss', temperature=1.0, loss_weight=0.5)),
    distill_inputs=dict(loss_kd='logits'))
