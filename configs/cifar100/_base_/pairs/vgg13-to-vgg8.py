# Distillation base of the CRD CIFAR-100 pair vgg13 (teacher, 74.64 top-1 in
# the CRD README) -> vgg8 (student, 70.36; trained alone by
# ../../vgg8_1xb64-240e_cifar100.py, whose recipe and lr it keeps). The WKD, KD
# and DKD configs of the pair add the terms.
_base_ = ['../../vgg8_1xb64-240e_cifar100.py']

# The shared CRD teacher, a {'model': ...} file of the cifar_teachers release
# that mdistiller and the WKD code load (configs/cifar100/README.md).
teacher_ckpt = 'download_ckpts/cifar_teachers/vgg13_vanilla/ckpt_epoch_240.pth'
cost_matrix_hook = dict(
    cost_file='work_dirs/cost_matrices/cifar100_vgg13_feature_cka-k1.pth')
# The official WKD-F projector ("conv1x1": ConvReg, then BN + ReLU) from the
# student's 512 x 4 x 4 map to the teacher's 512 x 4 x 4: a 1x1 conv.
projector = dict(
    type='mmkd.ConvRegConnector',
    in_channels=512,
    out_channels=512,
    in_size=4,
    out_size=4)

model = dict(
    _delete_=True,
    type='mmkd.ClassificationDistiller',
    student=_base_.model,
    teacher='{{fileDirname}}/../../vgg13_1xb64-240e_cifar100.py',
    teacher_ckpt=teacher_ckpt,
    probe_size=32,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())
