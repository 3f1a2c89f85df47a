# Student of the R101 -> R18 pair: Faster R-CNN R18-FPN, ImageNet-pretrained
# backbone, 1x schedule with multi-scale training (short side 640-800).
#
# Schedule vs the paper (docs/methods.md section 3): the paper trains 180k
# iterations at batch 8 with lr 0.01 (x0.1 at 120k and 160k), i.e. about 12
# epochs of COCO train2017, decays at epoch ~8 and ~11. mmdet's 1x schedule
# (12 epochs, batch 16 = 8 GPUs x 2, lr 0.02, decays at 8 and 11) is the same
# schedule at twice the batch and lr (linear scaling rule). On fewer GPUs use
# --auto-scale-lr.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomResize', scale=[(1333, 640), (1333, 800)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
auto_scale_lr = dict(enable=False, base_batch_size=16)
