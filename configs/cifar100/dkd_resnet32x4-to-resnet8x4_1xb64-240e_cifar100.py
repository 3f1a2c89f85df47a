# DKD, resnet32x4 -> resnet8x4, as mdistiller runs it
# (configs/cifar100/dkd/res32x4_res8x4.yaml, which keeps the defaults): alpha
# 1, beta 8, tau 4, a 20-epoch warm-up. Published (DKD README): 76.32 top-1.
_base_ = [
    './_base_/pairs/resnet32x4-to-resnet8x4.py',
    './_base_/methods/dkd.py',
]

model = dict(
    distill_losses=dict(loss_dkd=_base_.dkd),
    distill_inputs=dict(loss_dkd='logits'))
