# mmpretrain ImageClassifiers for the 32x32 toy digits (classification
# split): ResNet_CIFAR-18 (3x3 stem, no max-pool) with stage widths
# (w, 2w, 4w, 8w) and strides (2, 2, 2, 1), so the last stage is a 4x4 map
# (16 positions for WKD-F's Gaussians). `model` is the student (w = 8),
# `teacher_model` the teacher (w = 16, about 4x the multiply-adds).
_data_preprocessor = dict(
    type='ClsDataPreprocessor',
    num_classes=10,
    mean=[127.5] * 3,
    std=[127.5] * 3,
    to_rgb=True)
model = dict(
    type='ImageClassifier',
    data_preprocessor=_data_preprocessor,
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        stem_channels=8,
        base_channels=8,
        strides=(2, 2, 2, 1),
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
teacher_model = dict(
    type='ImageClassifier',
    data_preprocessor=_data_preprocessor,
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(2, 2, 2, 1),
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
