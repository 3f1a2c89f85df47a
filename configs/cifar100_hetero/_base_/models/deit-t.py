# DeiT-T as OFA's Transformer student (timm deit_tiny_patch16_224: a ViT
# with a class token, no distillation token): mmpretrain's VisionTransformer
# arch 'deit-tiny' (192 wide, 12 layers, 3 heads), patch 16 at 224 px. Its
# layer tokens are a 192 x 14 x 14 map once the class token is dropped.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', arch='deit-tiny', img_size=224,
                  patch_size=16, drop_path_rate=0.1),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=100,
              in_channels=192,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
              topk=(1, 5)))
