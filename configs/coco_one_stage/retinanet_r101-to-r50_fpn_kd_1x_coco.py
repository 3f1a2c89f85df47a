# KD baseline on the dense class outputs at the student's positive anchors
# (80 classes + background, 'exclusive' conversion; the locations and
# distributions of WKD-L). tau 1, weight 1: the Faster R-CNN KD configs
# (configs/coco); not tuned.
_base_ = './retinanet_r101-to-r50_fpn_distill_1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_kd=dict(type='mmkd.KDLoss', temperature=1.0, loss_weight=1.0)),
    distill_inputs=dict(loss_kd=dict(source='dense_cls', locations='pos')))
