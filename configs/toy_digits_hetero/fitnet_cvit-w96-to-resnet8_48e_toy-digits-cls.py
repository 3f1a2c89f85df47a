# FitNet: MSE on the WKD-F maps through the same linear projector (weight
# 100; the sweep on val is centred there). Toy pair CViT-w96 -> resnet8 (the
# ViT teacher's patch tokens after its final LayerNorm (96 x 8 x 8) against
# resnet8's last stage (64 x 8 x 8)).
_base_ = [
    './_base_/cvit-w96-to-resnet8_48e_toy-digits-cls.py',
    '../cifar100_hetero/_base_/methods/fitnet.py',
]

model = dict(
    distill_losses=dict(loss_fitnet=_base_.fitnet),
    distill_inputs=dict(loss_fitnet=_base_.feature_input),
    connectors=dict(proj=_base_.projector))
