# GFL + FPN for 128x128 toy digits (10 classes), trained from scratch.
# mmdet ships GFL only as full configs (gfl/gfl_r50_fpn_1x_coco.py, with
# its COCO data, schedule and runtime), and mmengine refuses duplicate keys
# among bases, so this model-only base starts from mmdet's RetinaNet model
# base (same backbone and FPN, start_level 1, P3-P7) and swaps in the GFL
# head and ATSS assigner with the values of gfl_r50_fpn_1x_coco.py, except:
# smaller anchors, two convs per head tower, 10 classes, no pretrained
# weights, trainable BN. Teacher and student configs set the widths.
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'

model = dict(
    type='GFL',
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(add_extra_convs='on_output'),
    bbox_head=dict(
        _delete_=True,
        type='GFLHead',
        num_classes=10,
        in_channels=256,
        stacked_convs=2,
        feat_channels=256,
        anchor_generator=dict(
            type='AnchorGenerator',
            ratios=[1.0],
            # Digits are 12-40 px: 32 px anchors on P3 (mmdet: 64 px).
            octave_base_scale=4,
            scales_per_octave=1,
            strides=[8, 16, 32, 64, 128]),
        loss_cls=dict(
            type='QualityFocalLoss',
            use_sigmoid=True,
            beta=2.0,
            loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        reg_max=16,
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(
        _delete_=True,
        assigner=dict(type='ATSSAssigner', topk=9),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(nms=dict(iou_threshold=0.6)))
