# Hinton KD baseline, ImageNet ResNet50 -> MobileNetV1 (paper: 70.50
# top-1), mdistiller's ImageNet settings: tau 1, CE 0.5, KD 0.5.
_base_ = './_base_/resnet50-to-mobilenetv1_8xb32-100e_in1k.py'

model = dict(
    student=dict(head=dict(loss=dict(loss_weight=0.5))),
    distill_losses=dict(
        loss_kd=dict(type='mmkd.KDLoss', temperature=1.0, loss_weight=0.5)),
    distill_inputs=dict(loss_kd='logits'))
