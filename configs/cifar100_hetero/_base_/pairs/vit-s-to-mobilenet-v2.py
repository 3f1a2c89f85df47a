# Distillation base of the across-architecture pair vit-s (teacher) ->
# mobilenet-v2 (student) on CIFAR-100 at 224 px (the WKD paper's Table 6, OFA
# protocol). The student keeps the recipe of
# ../../mobilenet-v2_8xb64-300e_cifar100.py; the WKD, KD, DKD and FitNet
# configs of the pair add the terms.
_base_ = ['../../mobilenet-v2_8xb64-300e_cifar100.py']

# The teacher's weights: a checkpoint of ../../vit-s_8xb64-300e_cifar100.py
# (MMEngine's format; see ../../README.md for OFA's released teachers).
teacher_ckpt = 'checkpoints/cifar100_hetero/vit-s_cifar100.pth'
cost_matrix_hook = dict(
    cost_file='work_dirs/cost_matrices/cifar100_vit-s_logits_cka-k1.pth')
# The maps WKD-F and FitNet compare: teacher 384 x 14 x 14 (the patch tokens
# after the final LayerNorm, ln1, class token dropped), student 1280 x 7 x 7
# (the backbone's last 1x1 conv).
teacher_stage = 'ln1'
student_stage = None
feature_input = dict(
    source='feature',
    connector='proj',
    student_stage=student_stage,
    teacher_stage=teacher_stage)
# "Simply a linear layer" (the paper): 1280 -> 384 at each position, after
# bilinear upsampling of the student's 7 x 7 grid to the teacher's 14 x 14.
projector = dict(
    type='mmkd.LinearMapConnector',
    in_channels=1280,
    out_channels=384,
    out_size=14)

model = dict(
    _base_.distiller,
    _delete_=True,
    student=_base_.model,
    teacher='{{fileDirname}}/../../vit-s_8xb64-300e_cifar100.py',
    teacher_ckpt=teacher_ckpt)
