# KD in the same framework: tau 4, KD weight 0.9 on tau^2 * KL(p_T || p_S),
# CE weight 0.1 (mdistiller's CIFAR-100 settings; OFA's KD numbers, which
# the WKD paper quotes, come from OFA's own runs, settings UNCONFIRMED).
kd = dict(type='mmkd.KDLoss', temperature=4.0, loss_weight=0.9)
kd_ce_weight = 0.1

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
