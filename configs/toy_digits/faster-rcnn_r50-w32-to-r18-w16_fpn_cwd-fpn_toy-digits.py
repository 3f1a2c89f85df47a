# FPN study reference: channel-wise distillation (CWD) on P2-P6, the same
# per-channel spatial distributions as the spatial Wasserstein candidate
# compared by KL (tau 1), constant weight as FitNet; weight matched to
# FitNet's initial term, its sweep centred there.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_fitnet_toy-digits.py'

model = dict(
    distill_losses=dict(
        _delete_=True,
        loss_cwd=dict(type='mmkd.ChannelWiseKLLoss', tau=1.0,
                      loss_weight=12.0)),
    distill_inputs=dict(
        _delete_=True, loss_cwd=dict(source='fpn', connector='fpn')))
