# Distillation base for the toy RetinaNet pair: teacher R50-w32 FPN-128 ->
# student R18-w16 FPN-64 (same anchors). No distillation term here; the
# variants in this folder add them (kd, fitnet, wkd-l, wkd-f-fpn,
# wkd-f-fpn-gt, wkd-lf). RetinaNet has no box-edge distributions.
#
# The student keeps its own data pipeline, schedule and data_preprocessor;
# the teacher is read from its config file and its checkpoint from the work
# dir that `python tools/train.py configs/toy_digits/retinanet_r50-w32_fpn_
# toy-digits.py` writes (override with
# --cfg-options model.teacher_ckpt=path/to/teacher.pth, e.g. the 3x teacher).
# Loss weights of the variants: see each variant (chosen on val by the
# toy study's sweep, tools/benchmarks/distill_study.py).
_base_ = './retinanet_r18-w16_fpn_toy-digits.py'

custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

teacher_ckpt = 'work_dirs/retinanet_r50-w32_fpn_toy-digits/iter_600.pth'
# Built by mmkd.CostMatrixHook on the first WKD-L run, reused afterwards.
cost_file = 'work_dirs/toy_demo/cost_matrix/retinanet_r50-w32_toy-digits_cka-k1.pth'  # noqa: E501

model = dict(
    _delete_=True,
    type='mmkd.SingleStageDistiller',
    student=_base_.model,
    teacher='{{fileDirname}}/retinanet_r50-w32_fpn_toy-digits.py',
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
