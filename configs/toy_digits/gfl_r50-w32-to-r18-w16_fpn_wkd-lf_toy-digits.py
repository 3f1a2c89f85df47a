# WKD-L (dense class outputs) + WKD-F (FPN P3-P5, object regions), each with
# the weight of its single-term config.
_base_ = './gfl_r50-w32-to-r18-w16_fpn_wkd-l_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=2,
            mean_cov_ratio=2.0,
            loss_weight=0.16,  # WKD-F (FPN)'s choice on val
        )),
    distill_inputs=dict(
        loss_wkd_f=dict(
            source='fpn',
            connector='fpn',
            region='gt',
            levels=[0, 1, 2],
            level_weights=[1.0, 1.0, 1.0])),
    connectors=dict(
        fpn=dict(type='mmkd.ConvConnector', in_channels=64,
                 out_channels=128)))
