# WKD-F on the FPN outputs restricted to object regions (region='gt'),
# otherwise as wkd-f-fpn-grid2 (grid 2, w_F 0.005, not tuned).
_base_ = './retinanet_r101-to-r50_fpn_wkd-f-fpn-grid2_1x_coco.py'

model = dict(distill_inputs=dict(loss_wkd_f=dict(region='gt')))
