# FPN study candidate on the GFL toy: spatial Wasserstein distillation on
# P3-P7 (the same per-channel distributions as CWD compared by entropic OT
# under the normalised squared distance between positions, reg 0.02, 30
# Sinkhorn iterations), decayed with a cosine as the WKD terms; weight:
# the Faster R-CNN toy's, swept here on val.
_base_ = './gfl_r50-w32-to-r18-w16_fpn_wkd-f-fpn_toy-digits.py'

model = dict(
    distill_losses=dict(
        _delete_=True,
        loss_swd=dict(
            type='mmkd.SpatialWassersteinLoss', tau=1.0, reg=0.02, iters=30,
            loss_weight=160.0)),
    distill_inputs=dict(
        _delete_=True, loss_swd=dict(source='fpn', connector='fpn')))
