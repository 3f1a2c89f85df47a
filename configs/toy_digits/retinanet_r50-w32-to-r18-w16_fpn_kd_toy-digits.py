# KD baseline on the dense class outputs at the student's positive priors
# (10 digits + background, 'exclusive' conversion of the sigmoid logits;
# the locations and distributions of WKD-L). tau 1 as the toy Faster
# R-CNN KD config; weight 16 chosen on val by the toy RetinaNet study's
# sweep (around 1, that config's weight).
_base_ = './retinanet_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_kd=dict(
            type='mmkd.KDLoss',
            temperature=1.0,
            loss_weight=16.0,  # chosen on val (study sweep)
        )),
    distill_inputs=dict(loss_kd=dict(source='dense_cls', locations='pos')))
