# KD as mdistiller runs it on CIFAR-100 (mdistiller/engine/cfg.py and
# distillers/KD.py): tau 4, KD weight 0.9 on tau^2 * KL(p_T || p_S), the
# student's cross-entropy weighted 0.1, no schedule.
kd = dict(type='mmkd.KDLoss', temperature=4.0, loss_weight=0.9)
kd_ce_weight = 0.1

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
