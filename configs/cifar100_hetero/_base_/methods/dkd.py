# DKD in the same framework: alpha 1, beta 8, tau 4, CE weight 1, ramped up
# linearly over the first 20 epochs (mdistiller's CIFAR-100 settings; OFA's
# DKD settings UNCONFIRMED).
dkd = dict(
    type='mmkd.DKDLoss', alpha=1.0, beta=8.0, temperature=4.0, loss_weight=1.0)

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True,
         schedule='constant', warmup=20),
    dict(type='mmkd.StudentCheckpointHook'),
]
