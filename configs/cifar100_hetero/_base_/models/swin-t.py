# Swin-T, an OFA teacher (timm swin_tiny_patch4_window7_224): mmpretrain's
# SwinTransformer arch 'tiny' (96, depths 2-2-6-2, heads 3-6-12-24);
# last stage 768 x 7 x 7 at 224 px.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='SwinTransformer', arch='tiny', img_size=224,
                  patch_size=4, window_size=7),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=768,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
              topk=(1, 5)))
