# DKD on the toy pair, mdistiller's CIFAR settings (alpha 1, beta 8, tau 4,
# CE 1; the weight, 4, chosen on val) with its linear warm-up scaled to
# this schedule (4 of 20 epochs for its 20 of 240).
_base_ = './distill_r18-w16-to-r18-w8_toy-digits-cls.py'

model = dict(
    distill_losses=dict(
        loss_dkd=dict(
            type='mmkd.DKDLoss',
            alpha=1.0,
            beta=8.0,
            temperature=4.0,
            loss_weight=4.0,  # chosen on val (README, sweep table)
        )),
    distill_inputs=dict(loss_dkd='logits'))

custom_hooks = [
    dict(
        type='mmkd.DistillWeightScheduleHook',
        schedule='constant',
        warmup=4,
        by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
