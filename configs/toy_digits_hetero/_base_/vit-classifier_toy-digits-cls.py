# A small ViT classifier for the 10 toy digit classes at 32 px: patch 4
# (an 8 x 8 patch grid, the same grid as the CIFAR ResNets' last stage), a
# class token and mmpretrain's VisionTransformerClsHead; each model config
# sets the width and depth.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', img_size=32, patch_size=4,
                  drop_path_rate=0.1),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=10,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
