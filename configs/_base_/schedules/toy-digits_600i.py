# 600 iterations at batch 8 (about 2.4 epochs of 2000 images), SGD, linear
# warm-up then x0.1 at 450 and 550 iterations; validation at the end.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600, val_interval=600)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=100),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=600,
        milestones=[450, 550],
        gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
