# mmdet's GFL R101-FPN ms-2x (44.7 box AP), the LD teacher, unchanged.
# It exists as a file of this folder for ld_r18-gflv1-r101_fpn_1x_coco.py:
# mmdet's KnowledgeDistillationSingleStageDetector reads `teacher_config`
# with Config.fromfile, which takes a file path but not 'mmdet::...'
# (FileNotFoundError); a local file that inherits mmdet's config, named by
# '{{fileDirname}}', works from any directory. It is also the teacher config
# to give tools/build_cost_matrix.py (which uses Config.fromfile too). The
# mmkd distillers read 'mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py' directly.
_base_ = 'mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py'
