# The toy across-architecture pair resnet32 (teacher) -> ViT (width 48, 4
# layers; student) on the 32 x 32 toy digits crops. The teacher and its cost
# matrix come from the study (tools/benchmarks/distill_study.py --task
# hetero_cnn), which passes both paths.
_base_ = ['../vit-w48-d4_24e_toy-digits-cls.py']

teacher_ckpt = 'work_dirs/study_hetero_cnn/teacher/epoch_72.pth'
# WKD-L's cost as across architectures (../../cifar100_hetero): linear CKA
# of the teacher's logits on every training crop, test pipeline, in order.
cost_matrix_hook = dict(
    type='mmkd.CostMatrixHook',
    cost_file='work_dirs/study_hetero_cnn/cost_matrix/cost_cka-k1.pth',
    source='logits',
    kappa=1.0,
    num_per_class=300,
    dataloader=dict(
        batch_size=200,
        num_workers=1,
        dataset=dict(
            type=_base_.dataset_type,
            data_root=_base_.data_root,
            data_prefix='train',
            pipeline=_base_.test_pipeline),
        sampler=dict(type='DefaultSampler', shuffle=False)))
# The maps WKD-F and FitNet compare, both 8 x 8.
teacher_stage = None
student_stage = 'ln1'
# The linear projector across architectures: 48 -> 64 at each position.
projector = dict(
    type='mmkd.LinearMapConnector', in_channels=48, out_channels=64)

model = dict(
    _delete_=True,
    type='mmkd.ClassificationDistiller',
    student=_base_.model,
    teacher='{{fileDirname}}/../../toy_digits_crd/'
    'resnet32_crd-72e_toy-digits-cls.py',
    teacher_ckpt=teacher_ckpt,
    probe_size=32,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())
