# KD baseline on the dense class outputs: Hinton's KL at tau 1 between the
# categorical distributions (80 classes + background, 'exclusive'
# conversion of the sigmoid logits) at the student's positive priors, the
# same locations and distributions as WKD-L. Weight 1, tau 1: the Faster
# R-CNN KD configs (configs/coco); not tuned.
_base_ = './gfl_r101-to-r18_fpn_distill_1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_kd=dict(type='mmkd.KDLoss', temperature=1.0, loss_weight=1.0)),
    distill_inputs=dict(loss_kd=dict(source='dense_cls', locations='pos')))
