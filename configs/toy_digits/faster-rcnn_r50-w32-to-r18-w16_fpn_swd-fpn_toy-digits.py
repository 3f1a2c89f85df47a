# FPN study candidate: spatial Wasserstein distillation on P2-P6, each
# channel's map a distribution over positions (softmax, tau 1) compared by
# entropic OT under the normalised squared distance between positions (reg
# 0.02, 30 Sinkhorn iterations), decayed with a cosine as the WKD terms;
# weight matched to FitNet's initial term, its sweep centred there.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-f-fpn_toy-digits.py'

model = dict(
    distill_losses=dict(
        _delete_=True,
        loss_swd=dict(
            type='mmkd.SpatialWassersteinLoss', tau=1.0, reg=0.02, iters=30,
            loss_weight=160.0)),
    distill_inputs=dict(
        _delete_=True, loss_swd=dict(source='fpn', connector='fpn')))
