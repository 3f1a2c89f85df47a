# The toy teacher trained 3x longer: 1800 iterations (about 7 epochs of 2000
# images at batch 8), the 1x milestones scaled by 3. It is the teacher of the
# distillation study (tools/benchmarks/distill_study.py), clearly above every
# student; the 1x teacher (faster-rcnn_r50-w32_fpn_toy-digits.py) is the
# quick demo's.
_base_ = './faster-rcnn_r50-w32_fpn_toy-digits.py'

train_cfg = dict(max_iters=1800, val_interval=1800)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=100),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=1800,
        milestones=[1350, 1650],
        gamma=0.1)
]
# Every 300 iterations, to read the teacher's val curve afterwards.
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=300, max_keep_ckpts=-1))
