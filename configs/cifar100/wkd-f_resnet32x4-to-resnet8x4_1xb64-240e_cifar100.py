# WKD-F, resnet32x4 -> resnet8x4: the official WKD config
# configs/cifar100/wkd_f/res32x4_res8x4.yaml (JiamingLv/WKD @214cf88): seed 10,
# w_F 0.08, mean-cov ratio 4, grid 1, the "conv1x1" projector (the pair base's
# ConvReg); the official README reports 76.77 top-1 (best epoch).
_base_ = [
    './_base_/pairs/resnet32x4-to-resnet8x4.py',
    './_base_/methods/wkd.py',
]

randomness = dict(seed=10)
model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            _base_.wkd_f, loss_weight=0.08, mean_cov_ratio=4.0, grid=1)),
    distill_inputs=dict(loss_wkd_f=_base_.wkd_f_input),
    connectors=dict(proj=_base_.projector))
