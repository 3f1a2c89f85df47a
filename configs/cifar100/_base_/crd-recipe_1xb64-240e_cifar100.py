# The CRD CIFAR-100 recipe as the official WKD code runs it (JiamingLv/WKD
# @214cf88, configs/cifar100/*.yaml and mdistiller/engine/trainer.py):
# 240 epochs, batch 64 on one GPU, SGD with Nesterov momentum 0.9, weight
# decay 5e-4, lr 0.05 (0.01 for MobileNetV2 and ShuffleNets, set by their
# model configs) x0.1 after epochs 150, 180 and 210 (its ``epoch > stage``
# with epochs counted from 1 is mmengine's 0-based milestone 150).
# Data (mdistiller/dataset/cifar100.py): RandomCrop(32, padding=4) and a
# horizontal flip for training, nothing for test, normalised with mean
# (0.5071, 0.4867, 0.4408) and std (0.2675, 0.2565, 0.2761) of [0, 1]
# pixels. The official code evaluates on the test split after every epoch
# and reports the best top-1; the checkpoint hook keeps that best epoch and
# the log has the last. It trains with AMP on a GPU: pass --amp.
_base_ = [
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
]

data_preprocessor = dict(
    num_classes=100,
    mean=[0.5071 * 255, 0.4867 * 255, 0.4408 * 255],
    std=[0.2675 * 255, 0.2565 * 255, 0.2761 * 255],
    to_rgb=False)
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4,
        nesterov=True))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(
        type='CheckpointHook', interval=10, max_keep_ckpts=1,
        save_best='accuracy/top1', rule='greater'))

custom_imports = dict(
    imports=[
        'mmkd', 'mmkd.models.backbones',
        'mmkd.models.distillers.classification_distiller'
    ],
    allow_failed_imports=False)

# What a WKD-L config's CostMatrixHook reads when no official matrix is
# given (tools/generate_class_proto.py --feature_type feature of the official
# code): the teacher's last-stage map (its DISTILL_STAGE) on every training
# image with the test transform, in order, every spatial position a row
# (500 images x 64 positions of an 8 x 8 map per class), linear CKA, kappa 1.
# The pair bases set cost_file; the released official matrices (they hold
# 1 - CKA) are used instead with official_file=<.../linear_cka.pth>.
cost_matrix_hook = dict(
    type='mmkd.CostMatrixHook',
    source='feature',
    kappa=1.0,
    num_per_class=32000,
    dataloader=dict(
        batch_size=64,
        num_workers=2,
        dataset=dict(
            type='CIFAR100',
            data_root='data/cifar100',
            split='train',
            pipeline=[dict(type='PackInputs')]),
        sampler=dict(type='DefaultSampler', shuffle=False)))
