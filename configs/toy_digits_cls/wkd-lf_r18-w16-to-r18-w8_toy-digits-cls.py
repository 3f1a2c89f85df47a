# WKD-L + WKD-F on the toy pair: the two single-term configs together.
_base_ = './wkd-l_r18-w16-to-r18-w8_toy-digits-cls.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=2,
            mean_cov_ratio=2.0,
            loss_weight=0.05,  # WKD-F's choice on val (README)
        )),
    distill_inputs=dict(loss_wkd_f=dict(source='feature', connector='proj')),
    connectors=dict(
        proj=dict(
            type='mmkd.ConvConnector',
            in_channels=64,
            out_channels=128,
            norm='BN',
            act='ReLU')))
