# The toy across-architecture pair CViT (a ViT of width 96 and 6 layers with
# a convolutional stem; teacher) -> resnet8 (student) on the 32 x 32 toy
# digits crops; the teacher trains on ten times the student's crops
# (../cvit-w96-d6_36e_toy-digits-30k-cls.py says why). The teacher and its
# cost matrix come from the study (tools/benchmarks/distill_study.py --task
# hetero_vit), which passes both paths.
_base_ = [
    '../../toy_digits_crd/resnet8_crd-48e_toy-digits-cls.py',
    './logit-cost-hook_toy-digits-cls.py',
]

teacher_ckpt = 'work_dirs/study_hetero_vit/teacher/epoch_36.pth'
cost_matrix_hook = dict(
    cost_file='work_dirs/study_hetero_vit/cost_matrix/cost_cka-k1.pth')
# The maps WKD-F and FitNet compare, both 8 x 8.
teacher_stage = 'ln1'
student_stage = None
feature_input = dict(
    source='feature',
    connector='proj',
    student_stage=student_stage,
    teacher_stage=teacher_stage)
# The linear projector across architectures: 64 -> 96 at each position.
projector = dict(
    type='mmkd.LinearMapConnector', in_channels=64, out_channels=96)

model = dict(
    _base_.distiller,
    _delete_=True,
    student=_base_.model,
    teacher='{{fileDirname}}/../cvit-w96-d6_36e_toy-digits-30k-cls.py',
    teacher_ckpt=teacher_ckpt)
