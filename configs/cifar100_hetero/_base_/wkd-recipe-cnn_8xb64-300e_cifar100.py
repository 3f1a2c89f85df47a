# The WKD paper's recipe for a CNN student across architectures (appendix
# C.5): 300 epochs, batch 512, cosine lr, SGD lr 2.5e-2, weight decay 2e-3.
# Momentum 0.9 and a cosine to 0 are not stated there (UNCONFIRMED); the
# best test top-1 is kept, as on CIFAR-100 elsewhere.
_base_ = [
    './ofa-data_224px_cifar100.py',
    'mmpretrain::_base_/default_runtime.py',
]

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=2.5e-2, momentum=0.9, weight_decay=2e-3))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, T_max=300,
                       eta_min=0.0)
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
custom_imports = dict(
    imports=['mmkd', 'mmkd.models.distillers.classification_distiller'],
    allow_failed_imports=False)
