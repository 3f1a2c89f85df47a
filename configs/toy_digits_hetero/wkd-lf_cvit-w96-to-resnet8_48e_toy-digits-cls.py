# WKD-L + WKD-F, each with the value its own sweep chose (the study passes
# them). Toy pair CViT-w96 -> resnet8 (the ViT teacher's patch tokens after
# its final LayerNorm (96 x 8 x 8) against resnet8's last stage (64 x 8 x
# 8)).
_base_ = [
    './_base_/cvit-w96-to-resnet8_48e_toy-digits-cls.py',
    '../cifar100_hetero/_base_/methods/wkd.py',
]

model = dict(
    distill_losses=dict(loss_wkd_l=_base_.wkd_l, loss_wkd_f=_base_.wkd_f),
    distill_inputs=dict(
        loss_wkd_l=_base_.wkd_l_input, loss_wkd_f=_base_.feature_input),
    connectors=dict(proj=_base_.projector))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
