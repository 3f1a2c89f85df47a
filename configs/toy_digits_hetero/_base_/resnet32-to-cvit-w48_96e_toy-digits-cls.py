# The toy across-architecture pair resnet32 (teacher) -> CViT (a ViT of
# width 48, 4 layers, with a convolutional stem; student, its 96-epoch SGD
# recipe) on the 32 x 32 toy digits crops. The teacher and its cost
# matrix come from the study (tools/benchmarks/distill_study.py --task
# hetero_cnn), which passes both paths.
_base_ = [
    '../cvit-w48-d4_96e_toy-digits-cls.py',
    './logit-cost-hook_toy-digits-cls.py',
]

teacher_ckpt = 'work_dirs/study_hetero_cnn/teacher/epoch_144.pth'
cost_matrix_hook = dict(
    cost_file='work_dirs/study_hetero_cnn/cost_matrix/cost_cka-k1.pth')
# The maps WKD-F and FitNet compare, both 8 x 8.
teacher_stage = None
student_stage = 'ln1'
feature_input = dict(
    source='feature',
    connector='proj',
    student_stage=student_stage,
    teacher_stage=teacher_stage)
# The linear projector across architectures: 48 -> 64 at each position.
projector = dict(
    type='mmkd.LinearMapConnector', in_channels=48, out_channels=64)

model = dict(
    _base_.distiller,
    _delete_=True,
    student=_base_.model,
    teacher='{{fileDirname}}/../../toy_digits_crd/'
    'resnet32_crd-144e-mixup_toy-digits-cls.py',
    teacher_ckpt=teacher_ckpt)
