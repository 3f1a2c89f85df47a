# MobileNetV2 as OFA's CNN student (timm mobilenetv2_100, width 1.0):
# mmpretrain's MobileNetV2; its last 1x1 conv gives 1280 x 7 x 7 at 224 px.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='MobileNetV2', widen_factor=1.0),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=1280,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
              topk=(1, 5)))
