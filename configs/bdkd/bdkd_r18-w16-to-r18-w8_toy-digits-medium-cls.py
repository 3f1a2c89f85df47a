# BD-KD on the toy digits classification pair of configs/toy_digits_cls:
# teacher ResNet_CIFAR-18 w16 and student w8 trained together from scratch
# on the 'medium' crops, with the student's schedule, optimiser and seed. One
# OptimWrapper over both networks: the cross terms are detached, so each
# network's loss updates only that network. Predictions and val metrics
# (accuracy, ECE/MCE) come from the student; --cfg-options
# model.eval_model=teacher evaluates the teacher of the same checkpoint.
_base_ = ['./resnet18-w8_toy-digits-medium-cls.py']

custom_imports = dict(
    imports=['mmkd', 'mmkd.evaluation', 'mmkd.models.online'],
    allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='mmkd.BDKDOnlineDistiller',
    student=_base_.model,
    teacher=_base_.teacher_model,
    student_distill_loss=dict(
        type='mmkd.BDKDStudentLoss', tau=4.0, weighting='hard'),
    teacher_distill_loss=dict(
        type='mmkd.BDKDTeacherLoss', tau=4.0, direction='reverse'),
    eval_model='student')
