# DKD baseline, ImageNet ResNet50 -> MobileNetV1, mdistiller's ImageNet
# settings: CE 1, alpha 1, beta 0.5, tau 1, constant weights.
_base_ = './_base_/resnet50-to-mobilenetv1_8xb32-100e_in1k.py'

model = dict(
    distill_losses=dict(
        loss_dkd=dict(
            type='mmkd.DKDLoss', alpha=1.0, beta=0.5, temperature=1.0)),
    distill_inputs=dict(loss_dkd='logits'))
