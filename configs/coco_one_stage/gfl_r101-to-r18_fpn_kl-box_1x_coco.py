# LD's loss through SingleStageDistiller, for a like-for-like comparison
# with wkd-box: mmdet's KnowledgeDistillationKLDivLoss (T 10, weight 0.25,
# LD's values) on the same box-edge distributions at the same positive
# priors with the same score weights. One difference from mmdet's LDHead
# remains (README.md): LDHead sums the weighted KL over the positives
# (avg_factor 4 per level), the distiller averages it (divides by the sum
# of the weights).
_base_ = './gfl_r101-to-r18_fpn_distill_1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_box=dict(
            type='mmdet.KnowledgeDistillationKLDivLoss', T=10,
            loss_weight=0.25)),
    distill_inputs=dict(
        loss_box=dict(source='dense_box', box_weight='student_score')))
