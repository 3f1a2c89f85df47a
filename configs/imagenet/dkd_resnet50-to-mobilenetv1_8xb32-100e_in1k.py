# DKD baseline, ImageNet ResNet50 -> MobileNetV1, mdistiller's settings for
# this pair (configs/imagenet/r50_mv1/dkd.yaml: CE_WEIGHT 1, BETA 2.0, T 1;
# ALPHA 1 is its default): CE 1, alpha 1, beta 2, tau 1, constant weights.
# beta 0.5 is mdistiller's ResNet34 -> ResNet18 value (r34_r18/dkd.yaml).
_base_ = './_base_/resnet50-to-mobilenetv1_8xb32-100e_in1k.py'

model = dict(
    distill_losses=dict(
        loss_dkd=dict(
            type='mmkd.DKDLoss', alpha=1.0, beta=2.0, temperature=1.0)),
    distill_inputs=dict(loss_dkd='logits'))
