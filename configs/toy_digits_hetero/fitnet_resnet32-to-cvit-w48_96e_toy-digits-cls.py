# FitNet: MSE on the WKD-F maps through the same linear projector (weight
# 100; the sweep on val is centred there). Toy pair resnet32 -> CViT-w48
# (resnet32's last stage (64 x 8 x 8) against the ViT student's patch tokens
# after its final LayerNorm (48 x 8 x 8)).
_base_ = [
    './_base_/resnet32-to-cvit-w48_96e_toy-digits-cls.py',
    '../cifar100_hetero/_base_/methods/fitnet.py',
]

model = dict(
    distill_losses=dict(loss_fitnet=_base_.fitnet),
    distill_inputs=dict(loss_fitnet=_base_.feature_input),
    connectors=dict(proj=_base_.projector))
