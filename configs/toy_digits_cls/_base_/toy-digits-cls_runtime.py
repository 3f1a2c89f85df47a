# mmpretrain runtime and a short AdamW schedule for the toy digits
# classifiers (a few minutes per run on 2 CPU cores; run with
# OMP_NUM_THREADS=1 on a busy 2-core machine), fixed seed. The cluttered
# crops sit at chance for several epochs before the networks start
# learning (SGD at lr 0.05 had not left chance after 5 epochs; AdamW at
# 5e-3 leaves it after about 5).
_base_ = [
    '../../_base_/datasets/toy-digits_classification.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(
    imports=[
        'mmkd', 'mmkd.evaluation', 'mmkd.models.backbones',
        'mmkd.models.distillers.classification_distiller'
    ],
    allow_failed_imports=False)

max_epochs = 20
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-3, weight_decay=5e-4))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=1,
        end=max_epochs,
        eta_min=1e-5,
        convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
