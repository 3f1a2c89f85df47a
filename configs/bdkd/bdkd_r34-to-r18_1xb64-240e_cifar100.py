# BD-KD shaped like the paper's CIFAR-100 set-up (never run here): teacher
# and student trained together from scratch for 240 epochs, SGD lr 0.05,
# momentum 0.9, weight decay 5e-4, lr x0.1 at epochs 150/180/210, batch 64
# (the CRD protocol that the paper's CIFAR-100 teacher/student pairs come
# from). The paper's pairs (WRN-16-8 -> ResNet20, ResNet32x4 -> ShuffleNetV2,
# WRN-40-2 -> WRN-16-2) are not in mmpretrain; ResNet_CIFAR-34 -> 18 stands
# in. Data: mmpretrain's CIFAR100 under data/cifar100.
_base_ = [
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    'mmpretrain::_base_/default_runtime.py'
]

custom_imports = dict(
    imports=['mmkd', 'mmkd.evaluation', 'mmkd.models.online'],
    allow_failed_imports=False)


def _resnet_cifar(depth):
    return dict(
        type='ImageClassifier',
        backbone=dict(
            type='ResNet_CIFAR',
            depth=depth,
            num_stages=4,
            out_indices=(3, ),
            style='pytorch'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=100,
            in_channels=512,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


# The dataset base's top-level data_preprocessor (CIFAR-100 mean/std) is
# what the Runner passes to the distiller; both networks share it.
model = dict(
    type='mmkd.BDKDOnlineDistiller',
    student=_resnet_cifar(18),
    teacher=_resnet_cifar(34),
    student_distill_loss=dict(
        type='mmkd.BDKDStudentLoss', tau=4.0, weighting='hard'),
    teacher_distill_loss=dict(
        type='mmkd.BDKDTeacherLoss', tau=4.0, direction='reverse'),
    eval_model='student')

train_dataloader = dict(batch_size=64, num_workers=4)
val_dataloader = dict(batch_size=100, num_workers=4)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='mmkd.ECEMetric', n_bins=15),
]
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=10,
        max_keep_ckpts=2,
        save_best='accuracy/top1'))
randomness = dict(seed=0)
