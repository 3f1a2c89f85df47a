# WKD-L (dense class outputs) + WKD-F (FPN, object regions), each with the
# weight of its single-term config (not tuned together).
_base_ = './retinanet_r101-to-r50_fpn_wkd-l_1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=2,
            mean_cov_ratio=2.0,
            loss_weight=0.005)),
    distill_inputs=dict(loss_wkd_f=dict(source='fpn', region='gt')))
