# Distillation base of the across-architecture pair swin-t (teacher) ->
# resnet18 (student) on CIFAR-100 at 224 px (the WKD paper's Table 6, OFA
# protocol). The student keeps the recipe of
# ../../resnet18_8xb64-300e_cifar100.py; the WKD, KD, DKD and FitNet configs
# of the pair add the terms.
_base_ = ['../../resnet18_8xb64-300e_cifar100.py']

# The teacher's weights: a checkpoint of ../../swin-t_8xb64-300e_cifar100.py
# (MMEngine's format; see ../../README.md for OFA's released teachers).
teacher_ckpt = 'checkpoints/cifar100_hetero/swin-t_cifar100.pth'
cost_matrix_hook = dict(
    cost_file='work_dirs/cost_matrices/cifar100_swin-t_logits_cka-k1.pth')
# The maps WKD-F and FitNet compare: teacher 768 x 7 x 7 (the backbone's
# output, after its last norm), student 512 x 7 x 7 (the backbone's last
# stage).
teacher_stage = None
student_stage = None
feature_input = dict(
    source='feature',
    connector='proj',
    student_stage=student_stage,
    teacher_stage=teacher_stage)
# "Simply a linear layer" (the paper): 512 -> 768 at each of the 7 x 7
# positions.
projector = dict(
    type='mmkd.LinearMapConnector',
    in_channels=512,
    out_channels=768)

model = dict(
    _base_.distiller,
    _delete_=True,
    student=_base_.model,
    teacher='{{fileDirname}}/../../swin-t_8xb64-300e_cifar100.py',
    teacher_ckpt=teacher_ckpt)
