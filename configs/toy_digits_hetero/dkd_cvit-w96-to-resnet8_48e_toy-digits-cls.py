# DKD (alpha 1, beta 8, tau 4, the weight ramped up over the first 4 epochs:
# the 20 of 240 scaled). Toy pair CViT-w96 -> resnet8.
_base_ = [
    './_base_/cvit-w96-to-resnet8_48e_toy-digits-cls.py',
    '../cifar100_hetero/_base_/methods/dkd.py',
]

model = dict(
    distill_losses=dict(loss_dkd=_base_.dkd),
    distill_inputs=dict(loss_dkd=dict(source='logits', labels='hard')))
custom_hooks = [
    dict(_base_.custom_hooks[0], warmup=4), _base_.custom_hooks[1]
]
