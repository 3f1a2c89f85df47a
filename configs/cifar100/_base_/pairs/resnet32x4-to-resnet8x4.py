# Distillation base of the CRD CIFAR-100 pair resnet32x4 (teacher, 79.42 top-1
# in the CRD README) -> resnet8x4 (student, 72.50; trained alone by
# ../../resnet8x4_1xb64-240e_cifar100.py, whose recipe and lr it keeps). The
# WKD, KD and DKD configs of the pair add the terms.
_base_ = ['../../resnet8x4_1xb64-240e_cifar100.py']

# The shared CRD teacher, a {'model': ...} file of the cifar_teachers release
# that mdistiller and the WKD code load (configs/cifar100/README.md).
teacher_ckpt = ('download_ckpts/cifar_teachers/resnet32x4_vanilla/'
                'ckpt_epoch_240.pth')
cost_matrix_hook = dict(
    cost_file='work_dirs/cost_matrices/cifar100_resnet32x4_feature_cka-k1.pth')
# The official WKD-F projector ("conv1x1": ConvReg, then BN + ReLU) from the
# student's 256 x 8 x 8 map to the teacher's 256 x 8 x 8: a 1x1 conv.
projector = dict(
    type='mmkd.ConvRegConnector',
    in_channels=256,
    out_channels=256,
    in_size=8,
    out_size=8)

model = dict(
    _delete_=True,
    type='mmkd.ClassificationDistiller',
    student=_base_.model,
    teacher='{{fileDirname}}/../../resnet32x4_1xb64-240e_cifar100.py',
    teacher_ckpt=teacher_ckpt,
    probe_size=32,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())
