# RetinaNet + FPN for 128x128 toy digits (10 classes), trained from scratch:
# mmdet's R50-FPN RetinaNet model with smaller anchors, two convs per head
# tower, no pretrained weights and trainable BN. Teacher and student configs
# set the backbone depth/width and the neck/head widths.
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    bbox_head=dict(
        num_classes=10,
        # Digits are 12-40 px: anchors 16-25 px on P3 (mmdet: 32-51 px).
        stacked_convs=2,
        anchor_generator=dict(octave_base_scale=2)))
