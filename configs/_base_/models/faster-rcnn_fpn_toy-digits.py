# Faster R-CNN + FPN for 128x128 toy digits (10 classes), trained from
# scratch: mmdet's R50-FPN model with smaller anchors, fewer proposals and
# RoIs, no pretrained weights and trainable BN. Teacher and student configs
# set the backbone depth/width and the neck/head widths.
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    rpn_head=dict(
        # Digits are 12-40 px: 16 px anchors on P2 instead of 32 px.
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(finest_scale=28),
        bbox_head=dict(num_classes=10)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(max_per_img=50)))
