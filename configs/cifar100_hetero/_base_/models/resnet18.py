# ResNet-18 as OFA's CNN student (timm resnet18: the ImageNet network, 7x7
# stem and max pool, at 224 px): mmpretrain's ResNet, depth 18; last stage
# 512 x 7 x 7, the map a WKD-F term reads.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(3, ),
                  style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=512,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
              topk=(1, 5)))
