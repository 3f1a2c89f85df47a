# Distillation base for the toy digits pair: teacher R50-w32 FPN-128 ->
# student R18-w16 FPN-64. No distillation term here; the variants in this
# folder add them (wkd-l, wkd-f, wkd-lf, kd, dkd, fitnet, ...).
#
# The student keeps its own data pipeline, schedule and data_preprocessor;
# the teacher is read from its config file and its checkpoint from the toy
# demo's work dir (override with
# --cfg-options model.teacher_ckpt=path/to/teacher.pth).
_base_ = './faster-rcnn_r18-w16_fpn_toy-digits.py'

custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

teacher_ckpt = 'work_dirs/toy_demo/teacher/iter_600.pth'
# Built by mmkd.CostMatrixHook on the first WKD-L run, reused afterwards.
cost_file = 'work_dirs/toy_demo/cost_matrix/faster-rcnn_r50-w32_toy-digits_cka-k1.pth'  # noqa: E501

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student=_base_.model,
    teacher='{{fileDirname}}/faster-rcnn_r50-w32_fpn_toy-digits.py',
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
