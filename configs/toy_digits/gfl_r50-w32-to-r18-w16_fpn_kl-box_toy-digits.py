# LD's loss through SingleStageDistiller (like-for-like with wkd-box):
# mmdet's KnowledgeDistillationKLDivLoss, T 10 (LD's), weight 4 chosen on
# val by the toy GFL study's sweep around LD's 0.25, on the same box-edge
# distributions and weights. Unlike mmdet's LDHead
# (ld_r18-w16-gfl-r50-w32_fpn_toy-digits.py), the value is a weighted mean
# over the positives, not a sum; the sweep's 16x larger weight fits that.
_base_ = './gfl_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_box=dict(
            type='mmdet.KnowledgeDistillationKLDivLoss', T=10,
            loss_weight=4.0,  # chosen on val (study sweep)
        )),
    distill_inputs=dict(
        loss_box=dict(source='dense_box', box_weight='student_score')))
