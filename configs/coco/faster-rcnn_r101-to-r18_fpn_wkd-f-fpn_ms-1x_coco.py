# WKD-F on the FPN outputs P2-P6 (both FPNs have 256 channels, no connector):
# both maps standardised per image, level and channel (as PKD), then one
# diagonal Gaussian per cell of 2 x 2 positions on every level (a grid that
# scales with the level). The FPN form that matched or beat FitNet (MSE) on the
# toy FPN studies, where one 2 x 2 grid per level lost to it by about 10 mAP
# (configs/toy_digits/README.md); that form is kept in the wkd-f-fpn-grid2
# configs. w_F 0.0625: the toy Faster R-CNN study's 0.125 (chosen on val, 128
# FPN channels) halved, since the term sums over 256 channels here; not tuned
# on COCO.
_base_ = './faster-rcnn_r101-to-r18_fpn_distill_ms-1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=1,
            cell_size=2,
            normalize='channel',
            mean_cov_ratio=2.0,
            loss_weight=0.0625)),
    distill_inputs=dict(loss_wkd_f='fpn'))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
