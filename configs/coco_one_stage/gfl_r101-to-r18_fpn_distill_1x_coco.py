# Distillation base of the GFL R101 -> R18 pair (mmdet's LD pair; no term
# here, the variants add them). Teacher: mmdet's GFL R101-FPN ms-2x (44.7 box
# AP), weights from the mmdet model zoo (the URL of mmdet's LD config;
# downloaded on first use, never in tests). Student: gfl_r18_fpn_1x_coco.py.
# Both heads use mmdet's GFL anchors (one 64 px anchor per location on
# P3, strides 8-128) and reg_max 16, so the dense terms compare them at the
# same priors and box bins.
# Loss weights of the variants are taken from elsewhere and NOT tuned here:
# see each variant's comment and README.md.
_base_ = './gfl_r18_fpn_1x_coco.py'

custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/gfl/gfl_r101_fpn_mstrain_2x_coco/gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth'  # noqa: E501
cost_file = 'work_dirs/cost_matrices/coco_gfl_r101-ms2x_cka-k1.pth'

model = dict(
    _delete_=True,
    type='mmkd.SingleStageDistiller',
    student=_base_.model,
    teacher='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py',
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
