# Localization Distillation (LD) as mmdet configures it: mmdet's own
# ld_r18-gflv1-r101_fpn_1x_coco.py (KnowledgeDistillationSingleStageDetector
# + LDHead: KL on the box-edge distributions, T 10, weight 0.25, each edge
# weighted by the student's max class score; mmdet reports 35.8 -> 36.5 AP),
# unchanged but for one fix: mmdet points teacher_config at
# 'configs/gfl/gfl_r101_fpn_ms-2x_coco.py', relative to the working
# directory, which exists only inside an mmdet source checkout. Here it is
# the local copy beside this file (see gfl_r101_fpn_ms-2x_coco.py), so it
# runs from any directory with a pip-installed mmdet. The teacher weights
# are mmdet's (the zoo URL of its config).
_base_ = 'mmdet::ld/ld_r18-gflv1-r101_fpn_1x_coco.py'

model = dict(teacher_config='{{fileDirname}}/gfl_r101_fpn_ms-2x_coco.py')
