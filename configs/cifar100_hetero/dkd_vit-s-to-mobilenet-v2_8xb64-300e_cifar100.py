# DKD, ViT-S -> MobileNetV2 on CIFAR-100 at 224 px, across architectures (the
# WKD paper's Table 6, OFA protocol): alpha 1, beta 8, tau 4, 20 warm-up
# epochs (_base_/methods/dkd.py).
_base_ = [
    './_base_/pairs/vit-s-to-mobilenet-v2.py',
    './_base_/methods/dkd.py',
]

model = dict(
    distill_losses=dict(loss_dkd=_base_.dkd),
    distill_inputs=dict(loss_dkd=dict(source='logits', labels='hard')))
