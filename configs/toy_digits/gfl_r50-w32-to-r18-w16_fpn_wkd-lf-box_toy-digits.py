# WKD-L + WKD-F + W1 on the box distributions (the GFL counterpart of the
# Faster R-CNN wkd-lf-bbox); the box term is not cosine-scheduled (as LD's
# and the Faster R-CNN box term).
_base_ = './gfl_r50-w32-to-r18-w16_fpn_wkd-lf_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_box=dict(
            type='mmkd.WassersteinBoxLoss', temperature=1.0,
            loss_weight=0.0625,  # W1 box's choice on val
        )),
    distill_inputs=dict(
        loss_box=dict(
            source='dense_box', box_weight='student_score',
            scheduled=False)))
