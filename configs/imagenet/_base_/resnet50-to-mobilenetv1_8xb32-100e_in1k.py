# Distillation base of the paper's ImageNet pair ResNet50 (teacher) ->
# MobileNetV1 (student; trained alone by ../mobilenetv1_8xb32_in1k.py).
# Teacher: mmpretrain's ResNet50 (76.55 top-1; the paper's torchvision
# teacher has 76.16), weights from the OpenMMLab model zoo, downloaded on
# first use (never in tests).
_base_ = [
    './models/mobilenet-v1_in1k.py',
    './wkd-recipe_8xb32-100e_in1k.py',
]

teacher_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth'  # noqa: E501
cost_matrix = _base_.cost_matrix_dir + '/resnet50_logit_linear_cka.pth'
kappa = 2.0  # the official code sharpens the R50 matrix with kappa = 2

# The student feature's projector of every WKD-F config of the pair: the
# official bottleneck (1x1 conv 256, 3x3 conv 256, 1x1 conv to the
# teacher's width, then BN + ReLU), applied even where the widths agree.
projector = dict(
    type='mmkd.BottleneckProjector',
    in_channels=1024,
    out_channels=2048,
    mid_channels=256)

model = dict(
    _delete_=True,
    type='mmkd.ClassificationDistiller',
    student=_base_.model,
    teacher='mmpretrain::resnet/resnet50_8xb32_in1k.py',
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())
