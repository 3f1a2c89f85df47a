# WKD-F, resnet110 -> resnet32. The official code gives no weights for this
# pair: these are the official values of the nearest pair, resnet32x4 ->
# resnet8x4 (within architectures): seed 10, w_F 0.08, mean-cov ratio 4, grid
# 1, the official projector.
_base_ = [
    './_base_/pairs/resnet110-to-resnet32.py',
    './_base_/methods/wkd.py',
]

randomness = dict(seed=10)
model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            _base_.wkd_f, loss_weight=0.08, mean_cov_ratio=4.0, grid=1)),
    distill_inputs=dict(loss_wkd_f=_base_.wkd_f_input),
    connectors=dict(proj=_base_.projector))
