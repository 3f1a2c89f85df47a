# Distillation base for the toy GFL pair: teacher R50-w32 FPN-128 -> student
# R18-w16 FPN-64 (same anchors and reg_max). No distillation term here; the
# variants in this folder add them (kd, fitnet, wkd-l, wkd-f-fpn, wkd-box,
# kl-box, wkd-lf, wkd-lf-box; ld_r18-w16-gfl-r50-w32_fpn_toy-digits.py is
# mmdet's own LD on the same pair).
#
# The student keeps its own data pipeline, schedule and data_preprocessor;
# the teacher is read from its config file and its checkpoint from the work
# dir that `python tools/train.py configs/toy_digits/gfl_r50-w32_fpn_toy-
# digits.py` writes (override with
# --cfg-options model.teacher_ckpt=path/to/teacher.pth, e.g. the 3x teacher).
# Loss weights of the variants: see each variant (chosen on val by the
# toy study's sweep, tools/benchmarks/distill_study.py).
_base_ = './gfl_r18-w16_fpn_toy-digits.py'

custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

teacher_ckpt = 'work_dirs/gfl_r50-w32_fpn_toy-digits/iter_600.pth'
# Built by mmkd.CostMatrixHook on the first WKD-L run, reused afterwards.
cost_file = 'work_dirs/toy_demo/cost_matrix/gfl_r50-w32_toy-digits_cka-k1.pth'  # noqa: E501

model = dict(
    _delete_=True,
    type='mmkd.SingleStageDistiller',
    student=_base_.model,
    teacher='{{fileDirname}}/gfl_r50-w32_fpn_toy-digits.py',
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
