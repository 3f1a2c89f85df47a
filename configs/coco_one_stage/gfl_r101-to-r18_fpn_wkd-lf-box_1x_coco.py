# WKD-L (dense class outputs) + WKD-F (FPN, object regions) + W1 on the box
# distributions: the WKD counterpart of Faster R-CNN's wkd-lf-bbox. Each term
# keeps the weight of its single-term config (not tuned together); the box
# term is not cosine-scheduled (like LD's and Faster R-CNN's box terms).
_base_ = './gfl_r101-to-r18_fpn_wkd-l_1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='mmkd.WKDFeatureLoss',
            grid=2,
            mean_cov_ratio=2.0,
            loss_weight=0.005),
        loss_box=dict(
            type='mmkd.WassersteinBoxLoss', temperature=1.0,
            loss_weight=0.25)),
    distill_inputs=dict(
        loss_wkd_f=dict(source='fpn', region='gt'),
        loss_box=dict(
            source='dense_box', box_weight='student_score',
            scheduled=False)))
