# WKD-L + WKD-F + box-regression distillation (MSE between the student's and
# the teacher's deltas of foreground RoIs), the paper's best detection row.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-lf_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_bbox_kd=dict(type='mmdet.MSELoss', loss_weight=1.0)),
    distill_inputs=dict(
        loss_bbox_kd=dict(source='roi_reg', scheduled=False)))
