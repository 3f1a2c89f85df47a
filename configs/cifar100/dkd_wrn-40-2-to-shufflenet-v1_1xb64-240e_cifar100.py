# DKD, wrn-40-2 -> shufflenet-v1, as mdistiller runs it
# (configs/cifar100/dkd/wrn40_2_shuv1.yaml, which keeps the defaults): alpha 1,
# beta 8, tau 4, a 20-epoch warm-up. Published (DKD README): 76.70 top-1.
_base_ = [
    './_base_/pairs/wrn-40-2-to-shufflenet-v1.py',
    './_base_/methods/dkd.py',
]

model = dict(
    distill_losses=dict(loss_dkd=_base_.dkd),
    distill_inputs=dict(loss_dkd='logits'))
