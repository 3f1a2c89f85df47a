# Student of the GFL R101 -> R18 pair (mmdet's LD pair, configs/ld in
# mmdet): GFL R18-FPN with a plain GFLHead, ImageNet-pretrained backbone,
# 1x schedule, single-scale training. Everything but the head type is what
# mmdet's ld_r18-gflv1-r101_fpn_1x_coco.py gives its student (backbone,
# neck, head hyper-parameters, ATSS assigner, SGD lr 0.01 at 16 images), so
# this is the "no distillation" row of the LD comparison.
_base_ = 'mmdet::gfl/gfl_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))
auto_scale_lr = dict(enable=False, base_batch_size=16)
