# FitNet, Swin-T -> ResNet18 on CIFAR-100 at 224 px, across architectures
# (the WKD paper's Table 6, OFA protocol): MSE on the WKD-F maps through the
# same linear projector, weight 100 (_base_/methods/fitnet.py).
_base_ = [
    './_base_/pairs/swin-t-to-resnet18.py',
    './_base_/methods/fitnet.py',
]

model = dict(
    distill_losses=dict(loss_fitnet=_base_.fitnet),
    distill_inputs=dict(loss_fitnet=_base_.feature_input),
    connectors=dict(proj=_base_.projector))
