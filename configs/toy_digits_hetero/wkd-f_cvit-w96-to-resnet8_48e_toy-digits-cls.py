# WKD-F as across architectures in the WKD paper (grid 1, gamma 2, w_F 2e-2,
# a linear projector; the sweep on val varies w_F). Toy pair CViT-w96 ->
# resnet8 (the ViT teacher's patch tokens after its final LayerNorm (96 x 8 x
# 8) against resnet8's last stage (64 x 8 x 8)).
_base_ = [
    './_base_/cvit-w96-to-resnet8_48e_toy-digits-cls.py',
    '../cifar100_hetero/_base_/methods/wkd.py',
]

model = dict(
    distill_losses=dict(loss_wkd_f=_base_.wkd_f),
    distill_inputs=dict(loss_wkd_f=_base_.feature_input),
    connectors=dict(proj=_base_.projector))
