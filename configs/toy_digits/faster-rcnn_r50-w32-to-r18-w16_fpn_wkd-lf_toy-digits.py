# WKD-L (RoI logits) + WKD-F (RoIAlign features), the paper's combination.
_base_ = [
    './faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-l_toy-digits.py',
]

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=4,
            mean_cov_ratio=2.0,
            loss_weight=0.08)),  # chosen on val (README, sweep table)
    distill_inputs=dict(loss_wkd_f=dict(source='roi_feat', connector='roi')),
    connectors=dict(
        roi=dict(type='mmkd.ConvConnector', in_channels=64,
                 out_channels=128)))
