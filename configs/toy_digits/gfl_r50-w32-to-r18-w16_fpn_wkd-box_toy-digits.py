# WKD on the box-edge distributions: 1-D Wasserstein (W1, in bins) between
# the student's and the teacher's 17-bin distributions of each edge at the
# student's positive priors, each edge weighted by the student's max class
# score (LD's weighting). Weight 0.0625, chosen on val by the toy GFL
# study's sweep around LD's loss_ld weight, 0.25 (W1 and LD's KL have
# different scales).
_base_ = './gfl_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_box=dict(
            type='mmkd.WassersteinBoxLoss', temperature=1.0,
            loss_weight=0.0625,  # chosen on val (study sweep)
        )),
    distill_inputs=dict(
        loss_box=dict(source='dense_box', box_weight='student_score')))
