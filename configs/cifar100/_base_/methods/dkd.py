# DKD as mdistiller runs it on CIFAR-100 (mdistiller/engine/cfg.py and
# distillers/DKD.py): alpha 1, beta 8 (6 or 2 for some pairs), tau 4, CE
# weight 1, the term ramped up linearly over the first 20 epochs
# (min(epoch / 20, 1) with epochs counted from 1).
dkd = dict(
    type='mmkd.DKDLoss', alpha=1.0, beta=8.0, temperature=4.0, loss_weight=1.0)

custom_hooks = [
    dict(
        type='mmkd.DistillWeightScheduleHook',
        by_epoch=True,
        schedule='constant',
        warmup=20),
    dict(type='mmkd.StudentCheckpointHook'),
]
