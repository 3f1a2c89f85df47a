# WKD-L + WKD-F, each with the value its own sweep chose (the study passes
# them). Toy pair resnet32 -> CViT-w48 (resnet32's last stage (64 x 8 x 8)
# against the ViT student's patch tokens after its final LayerNorm (48 x 8 x
# 8)).
_base_ = [
    './_base_/resnet32-to-cvit-w48_96e_toy-digits-cls.py',
    '../cifar100_hetero/_base_/methods/wkd.py',
]

model = dict(
    distill_losses=dict(loss_wkd_l=_base_.wkd_l, loss_wkd_f=_base_.wkd_f),
    distill_inputs=dict(
        loss_wkd_l=_base_.wkd_l_input, loss_wkd_f=_base_.feature_input),
    connectors=dict(proj=_base_.projector))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
