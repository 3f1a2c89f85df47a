# Distillation base of the toy digits classification pair: teacher
# ResNet_CIFAR-18 w16 -> student ResNet_CIFAR-18 w8, the student's own data,
# schedule (20 epochs) and data_preprocessor. No term here; the variants in
# this folder add them (kd, dkd, wkd-l, wkd-f, wkd-lf).
#
# Train the teacher first (its checkpoint is read from its work dir;
# override with --cfg-options model.teacher_ckpt=path/to/teacher.pth):
#   python tools/train.py \
#       configs/toy_digits_cls/resnet18-w16_toy-digits-cls.py \
#       --work-dir work_dirs/toy_cls/teacher
# That 30-epoch teacher is the quick one. The variants' loss weights were
# chosen on val against the study's teacher, resnet18-w16_60e-mixup_...
# (tools/benchmarks/distill_study.py --task cls passes its checkpoint and
# cost matrix): train that one and point teacher_ckpt at it for the
# study's numbers.
_base_ = './resnet18-w8_toy-digits-cls.py'

teacher_ckpt = 'work_dirs/toy_cls/teacher/epoch_30.pth'
# WKD-L cost matrix of the teacher (1 - exp(-(1 - CKA)) of its logits, 100
# training images per class); see configs/toy_digits_cls/README.md.
cost_matrix = 'work_dirs/toy_cls/cost_matrix/resnet18-w16_toy-digits-cls_logit_cka-k1.pth'  # noqa: E501

model = dict(
    _delete_=True,
    type='mmkd.ClassificationDistiller',
    student=_base_.model,
    teacher='{{fileDirname}}/resnet18-w16_toy-digits-cls.py',
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
