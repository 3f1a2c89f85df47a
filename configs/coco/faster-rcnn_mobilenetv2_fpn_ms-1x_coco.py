# Student of the R50 -> MobileNetV2 pair: Faster R-CNN MobileNetV2-FPN
# (stages of stride 4/8/16/32: 24, 32, 96 and 1280 channels), ImageNet-
# pretrained backbone, 1x schedule with multi-scale training. Schedule notes
# as in faster-rcnn_r18_fpn_ms-1x_coco.py.
_base_ = './faster-rcnn_r18_fpn_ms-1x_coco.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        out_indices=(1, 2, 4, 7),
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 1280]))
