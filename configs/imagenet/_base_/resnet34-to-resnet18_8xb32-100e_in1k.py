# Distillation base of the paper's ImageNet pair ResNet34 (teacher) ->
# ResNet18 (student); the variants in configs/imagenet add the terms.
# Teacher: mmpretrain's ResNet34 (73.62 top-1; the paper's torchvision
# teacher has 73.31), weights from the OpenMMLab model zoo, downloaded on
# first use (never in tests).
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    './wkd-recipe_8xb32-100e_in1k.py',
]

teacher_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth'  # noqa: E501
cost_matrix = _base_.cost_matrix_dir + '/resnet34_logit_linear_cka.pth'
kappa = 1.0

# The student feature's projector of every WKD-F config of the pair: the
# official bottleneck (1x1 conv 256, 3x3 conv 256, 1x1 conv to the
# teacher's width, then BN + ReLU), applied even where the widths agree.
projector = dict(
    type='mmkd.BottleneckProjector',
    in_channels=512,
    out_channels=512,
    mid_channels=256)

model = dict(
    _delete_=True,
    type='mmkd.ClassificationDistiller',
    student=_base_.model,
    teacher='mmpretrain::resnet/resnet34_8xb32_in1k.py',
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())
