# A CIFAR zoo classifier for the 10 toy digit classes: global average
# pooling and one linear layer (each model config sets the backbone and the
# head's in_channels).
model = dict(
    type='ImageClassifier',
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
