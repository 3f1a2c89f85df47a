# WKD-F on the FPN outputs P2-P6, one diagonal Gaussian per image and 2 x 2
# grid cell per level, unstandardised, w_F 0.005: the FPN default before the
# toy FPN studies; kept to compare with.
_base_ = './faster-rcnn_r101-to-r18_fpn_wkd-f-fpn_ms-1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            grid=2, cell_size=None, normalize='none', loss_weight=0.005)))
