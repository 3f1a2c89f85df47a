# FPN study candidate: WKD-F on P2-P6 with full covariance (the WKD author's
# advice), one Gaussian per level; weight matched to FitNet's initial term,
# its sweep centred there.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-f-fpn_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(grid=1, covariance='full', loss_weight=0.025)),
    distill_inputs=dict(
        loss_wkd_f=dict(levels=None, level_weights=None)))
