# Swin-P(ico), OFA's own small Swin student (Hao840/OFAKD
# custom_model/swin_transformer.py): patch 4, window 7, embedding 48,
# depths 2-2-2-2, heads 2-4-8-16. mmpretrain has no such arch name, so the
# arch is given as a dict (its keys must be exactly these). Last stage
# 384 x 7 x 7 at 224 px.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='SwinTransformer',
                  arch=dict(embed_dims=48, depths=[2, 2, 2, 2],
                            num_heads=[2, 4, 8, 16]),
                  img_size=224, patch_size=4, window_size=7,
                  drop_path_rate=0.1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=384,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
              topk=(1, 5)))
