# Student of the R50 -> MobileNetV2 pair: Faster R-CNN MobileNetV2-FPN
# (stages of stride 4/8/16/32: 24, 32, 96 and 1280 channels), ImageNet-
# pretrained backbone, 1x schedule with multi-scale training. Schedule notes
# as in faster-rcnn_r18_fpn_ms-1x_coco.py.
_base_ = './faster-rcnn_r18_fpn_ms-1x_coco.py'

# BatchNorm: frozen statistics (norm_eval=True), trainable affine, as the
# R18 student and mmdet's ResNet Faster R-CNNs. mmdet's MobileNetV2 default
# (norm_eval=False, plain BN) comes from its MobileNetV2 detectors, which
# train 24 images per GPU (ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py,
# yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py). Here each GPU holds 2
# images of ~800 px, too few for usable batch statistics; SyncBN would need
# a multi-GPU run (and changes with the GPU count), while the ImageNet
# statistics of the pretrained backbone work on any set-up. The protocol the
# paper follows (Detectron2, ReviewKD's MobileNetV2-FPN backbone) also keeps
# them frozen (MODEL.MOBILENETV2.NORM 'FrozenBN').
model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        out_indices=(1, 2, 4, 7),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 1280]))
