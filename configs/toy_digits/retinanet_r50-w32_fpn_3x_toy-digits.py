# The toy RetinaNet teacher trained 3x longer (1800 iterations, milestones
# x3), as faster-rcnn_r50-w32_fpn_3x_toy-digits.py for the Faster R-CNN
# study: a converged teacher for a distillation study.
_base_ = './retinanet_r50-w32_fpn_toy-digits.py'

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
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=300, max_keep_ckpts=-1))
