# WKD-L + WKD-F + box-regression distillation (MSE of the deltas of
# foreground RoIs), the paper's best detection row.
_base_ = './faster-rcnn_r101-to-r18_fpn_wkd-lf_ms-1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_bbox_kd=dict(type='mmdet.MSELoss', loss_weight=1.0)),
    distill_inputs=dict(
        loss_bbox_kd=dict(source='roi_reg', scheduled=False)))
