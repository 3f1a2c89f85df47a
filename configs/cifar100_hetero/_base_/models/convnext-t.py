# ConvNeXt-T, an OFA teacher (timm convnext_tiny): mmpretrain's ConvNeXt
# arch 'tiny' (depths 3-3-9-3, widths 96-768). Its backbone output is
# pooled (gap_before_final_norm, as timm's head), so WKD-F reads the map of
# its last stage, 'stages.3' (768 x 7 x 7 at 224 px).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ConvNeXt', arch='tiny'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=768,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
              topk=(1, 5)))
