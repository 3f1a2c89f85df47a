# ViT-S/16, an OFA teacher (timm vit_small_patch16_224): mmpretrain's
# VisionTransformer arch 'deit-small' (384 wide, 12 layers, 6 heads; note
# that mmpretrain's 'small' is another network, 768 wide with 8 layers),
# patch 16 at 224 px: 384 x 14 x 14 patch tokens.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', arch='deit-small', img_size=224,
                  patch_size=16),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=100,
              in_channels=384,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
              topk=(1, 5)))
