# MobileNetV1 classifier (1.0 width, 4.2 M parameters, 1000 classes), the
# mmkd backbone registered as mmkd.MobileNetV1 (the including config
# imports mmkd.models.backbones with custom_imports).

model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmkd.MobileNetV1', out_indices=(4, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
