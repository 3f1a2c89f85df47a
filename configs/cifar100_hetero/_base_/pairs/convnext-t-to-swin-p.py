# Distillation base of the across-architecture pair convnext-t (teacher) ->
# swin-p (student) on CIFAR-100 at 224 px (the WKD paper's Table 6, OFA
# protocol). The student keeps the recipe of
# ../../swin-p_8xb64-300e_cifar100.py; the WKD, KD, DKD and FitNet configs of
# the pair add the terms.
_base_ = ['../../swin-p_8xb64-300e_cifar100.py']

# The teacher's weights: a checkpoint of
# ../../convnext-t_8xb64-300e_cifar100.py
# (MMEngine's format; see ../../README.md for OFA's released teachers).
teacher_ckpt = 'checkpoints/cifar100_hetero/convnext-t_cifar100.pth'
cost_matrix_hook = dict(
    cost_file='work_dirs/cost_matrices/cifar100_convnext-t_logits_cka-k1.pth')
# The maps WKD-F and FitNet compare: teacher 768 x 7 x 7 (its last stage,
# stages.3: the backbone's own output is pooled), student 384 x 7 x 7 (the
# backbone's output, after its last norm).
teacher_stage = 'stages.3'
student_stage = None
feature_input = dict(
    source='feature',
    connector='proj',
    student_stage=student_stage,
    teacher_stage=teacher_stage)
# "Simply a linear layer" (the paper): 384 -> 768 at each of the 7 x 7
# positions.
projector = dict(
    type='mmkd.LinearMapConnector',
    in_channels=384,
    out_channels=768)

model = dict(
    _base_.distiller,
    _delete_=True,
    student=_base_.model,
    teacher='{{fileDirname}}/../../convnext-t_8xb64-300e_cifar100.py',
    teacher_ckpt=teacher_ckpt)
