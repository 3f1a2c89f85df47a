# WKD-L (RoI logits) + WKD-F (RoIAlign features).
_base_ = './faster-rcnn_r50-to-mobilenetv2_fpn_wkd-l_ms-1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=4,
            mean_cov_ratio=2.0,
            loss_weight=0.02)),
    distill_inputs=dict(loss_wkd_f='roi_feat'))
