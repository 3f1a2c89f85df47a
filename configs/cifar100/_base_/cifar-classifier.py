# An mmpretrain classifier around a CIFAR zoo backbone (mmkd.CIFARResNet,
# ...): global average pooling and one linear layer, which at 32 px is the
# official network's pooling and classifier. Each model config sets the
# backbone and the head's in_channels.
model = dict(
    type='ImageClassifier',
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
