# FPN study reference on the GFL toy: channel-wise distillation (CWD) on
# P3-P7, each channel's map a distribution over positions compared by KL
# (tau 1), constant weight as FitNet; weight: the Faster R-CNN toy's, swept
# here on val.
_base_ = './gfl_r50-w32-to-r18-w16_fpn_fitnet_toy-digits.py'

model = dict(
    distill_losses=dict(
        _delete_=True,
        loss_cwd=dict(type='mmkd.ChannelWiseKLLoss', tau=1.0,
                      loss_weight=12.0)),
    distill_inputs=dict(
        _delete_=True, loss_cwd=dict(source='fpn', connector='fpn')))
