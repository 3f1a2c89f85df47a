# The toy CRD pair: resnet32 (teacher,
# ../resnet32_crd-144e-mixup_toy-digits-cls.py)
# -> resnet8 (student, ../resnet8_crd-48e_toy-digits-cls.py), the official
# resnet32x4 -> resnet8x4 pair at a quarter of its widths, on the 32 x 32
# toy digits crops. The teacher and its cost matrix come from the study
# (tools/benchmarks/distill_study.py --task crd), which passes both paths.
_base_ = ['../resnet8_crd-48e_toy-digits-cls.py']

teacher_ckpt = 'work_dirs/study_crd/teacher/epoch_144.pth'
# The official CIFAR matrix's recipe on the toy crops: every position of
# the teacher's 8 x 8 last-stage map on every training crop (300 per class),
# test pipeline, in order; linear CKA, kappa 1.
cost_matrix_hook = dict(
    type='mmkd.CostMatrixHook',
    cost_file='work_dirs/study_crd/cost_matrix/'
    'resnet32_crd-144e-mixup_toy-digits-cls_cka-k1.pth',
    source='feature',
    kappa=1.0,
    num_per_class=19200,
    dataloader=dict(
        batch_size=200,
        num_workers=1,
        dataset=dict(
            type=_base_.dataset_type,
            data_root=_base_.data_root,
            data_prefix='train',
            pipeline=_base_.test_pipeline),
        sampler=dict(type='DefaultSampler', shuffle=False)))
# The official projector: a 1x1 ConvReg (64 x 8 x 8 on both sides) + BN +
# ReLU.
projector = dict(
    type='mmkd.ConvRegConnector',
    in_channels=64,
    out_channels=64,
    in_size=8,
    out_size=8)

model = dict(
    _delete_=True,
    type='mmkd.ClassificationDistiller',
    student=_base_.model,
    teacher='{{fileDirname}}/../resnet32_crd-144e-mixup_toy-digits-cls.py',
    teacher_ckpt=teacher_ckpt,
    probe_size=32,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())
