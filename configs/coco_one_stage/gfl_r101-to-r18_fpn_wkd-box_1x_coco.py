# WKD on the box-edge distributions: the 1-D Wasserstein distance (W1,
# ground cost |i - j| in bins, closed form from the CDFs) between the
# student's and the teacher's 17-bin distributions of each edge at the
# student's positive priors, each edge weighted by the student's max class
# score (LD's weighting). Weight 0.25: LD's loss_ld weight, not tuned (W1 at
# T 1 is in bins, LD's KL is T^2 times a bin-averaged KL: the scales differ,
# see README.md).
_base_ = './gfl_r101-to-r18_fpn_distill_1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_box=dict(
            type='mmkd.WassersteinBoxLoss', temperature=1.0,
            loss_weight=0.25)),
    distill_inputs=dict(
        loss_box=dict(source='dense_box', box_weight='student_score')))
