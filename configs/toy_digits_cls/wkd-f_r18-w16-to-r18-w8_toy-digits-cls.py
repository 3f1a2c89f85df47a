# WKD-F on the toy pair: diagonal Gaussians of the last stage (4 x 4 maps,
# 64 student / 128 teacher channels, post-ReLU) on a 2 x 2 grid, gamma 2;
# the student goes through the CIFAR-style projector (1x1 conv + BN +
# ReLU). w_F (mmkd's choice) decays with a cosine after epoch 12.
_base_ = './distill_r18-w16-to-r18-w8_toy-digits-cls.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=2,
            mean_cov_ratio=2.0,
            loss_weight=0.05,  # chosen on val (README, sweep table)
        )),
    distill_inputs=dict(loss_wkd_f=dict(source='feature', connector='proj')),
    connectors=dict(
        proj=dict(
            type='mmkd.ConvConnector',
            in_channels=64,
            out_channels=128,
            norm='BN',
            act='ReLU')))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', begin=12, by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
