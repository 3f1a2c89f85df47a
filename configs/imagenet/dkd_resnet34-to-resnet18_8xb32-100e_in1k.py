# DKD baseline, ImageNet ResNet34 -> ResNet18, with mdistiller's ImageNet
# settings: CE weight 1, alpha 1, beta 0.5, tau 1, constant weights (its
# one-epoch warm-up is a no-op with 1-based epochs).
_base_ = './_base_/resnet34-to-resnet18_8xb32-100e_in1k.py'

model = dict(
    distill_losses=dict(
        loss_dkd=dict(
            type='mmkd.DKDLoss', alpha=1.0, beta=0.5, temperature=1.0)),
    distill_inputs=dict(loss_dkd='logits'))
