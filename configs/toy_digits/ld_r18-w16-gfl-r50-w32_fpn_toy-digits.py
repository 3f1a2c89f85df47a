# Localization Distillation as mmdet configures it (its
# KnowledgeDistillationSingleStageDetector + LDHead, the layout of mmdet's
# ld/ld_r18-gflv1-r101_fpn_1x_coco.py: KL on the box-edge distributions,
# T 10, weight 0.25) on the toy GFL pair: the toy student with an LDHead and
# the toy GFL teacher. Teacher checkpoint as the mmkd toy GFL configs
# (override with --cfg-options model.teacher_ckpt=...).
_base_ = './gfl_r18-w16_fpn_toy-digits.py'

model = dict(
    type='KnowledgeDistillationSingleStageDetector',
    teacher_config='{{fileDirname}}/gfl_r50-w32_fpn_toy-digits.py',
    teacher_ckpt='work_dirs/gfl_r50-w32_fpn_toy-digits/iter_600.pth',
    bbox_head=dict(
        type='LDHead',
        loss_ld=dict(
            type='KnowledgeDistillationKLDivLoss', loss_weight=0.25, T=10)))
