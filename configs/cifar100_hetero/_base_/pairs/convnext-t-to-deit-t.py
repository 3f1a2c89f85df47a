# Distillation base of the across-architecture pair convnext-t (teacher) ->
# deit-t
# (student) on CIFAR-100 at 224 px (the WKD paper's Table 6, OFA protocol).
# The student keeps the recipe of ../../deit-t_8xb64-300e_cifar100.py; the WKD,
# KD, DKD and FitNet configs of the pair add the terms.
_base_ = ['../../deit-t_8xb64-300e_cifar100.py']

# The teacher's weights: a checkpoint of
# ../../convnext-t_8xb64-300e_cifar100.py
# (MMEngine's format; see ../../README.md for OFA's released teachers).
teacher_ckpt = 'checkpoints/cifar100_hetero/convnext-t_cifar100.pth'
# WKD-L's cost: linear CKA of the teacher's logits on every training image
# (500 per class, the test transform, in order), kappa 1, built by the hook
# on first use and cached.
cost_matrix_hook = dict(
    type='mmkd.CostMatrixHook',
    cost_file='work_dirs/cost_matrices/cifar100_convnext-t_logits_cka-k1.pth',
    source='logits',
    kappa=1.0,
    num_per_class=500,
    dataloader=dict(
        batch_size=64,
        num_workers=2,
        dataset=dict(
            type='CIFAR100',
            data_root='data/cifar100',
            split='train',
            pipeline=_base_.test_pipeline),
        sampler=dict(type='DefaultSampler', shuffle=False)))
# The maps WKD-F and FitNet compare: teacher 768 x 7 x 7 (its last stage,
# stages.3: the backbone's own output is pooled), student 192 x 14 x 14 (the
# patch tokens after the final LayerNorm, ln1, class token dropped).
teacher_stage = 'stages.3'
student_stage = 'ln1'
# "Simply a linear layer" (the paper): 192 -> 768 at each position, after 2 x
# 2 average pooling of the student's 14 x 14 grid to the teacher's 7 x 7.
projector = dict(
    type='mmkd.LinearMapConnector',
    in_channels=192,
    out_channels=768,
    out_size=7)

model = dict(
    _delete_=True,
    type='mmkd.ClassificationDistiller',
    student=_base_.model,
    teacher='{{fileDirname}}/../../convnext-t_8xb64-300e_cifar100.py',
    teacher_ckpt=teacher_ckpt,
    probe_size=224,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())
