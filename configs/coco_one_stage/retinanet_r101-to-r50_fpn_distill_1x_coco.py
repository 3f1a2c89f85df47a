# Distillation base of the RetinaNet R101 -> R50 pair (no term here, the
# variants add them). Teacher: mmdet's RetinaNet R101-FPN 1x (38.5 box AP),
# weights from the mmdet model zoo (the URL of mmdet's retinanet metafile;
# downloaded on first use, never in tests). Student:
# retinanet_r50_fpn_1x_coco.py. Both heads use mmdet's RetinaNet anchors (9
# per location, strides 8-128), so dense terms compare them at the same
# priors. RetinaNet has no box-edge distributions (no 'dense_box' terms).
# Loss weights of the variants are taken from elsewhere and NOT tuned here:
# see each variant's comment and README.md.
_base_ = './retinanet_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_r101_fpn_1x_coco/retinanet_r101_fpn_1x_coco_20200130-7a93545f.pth'  # noqa: E501
cost_file = 'work_dirs/cost_matrices/coco_retinanet_r101-1x_cka-k1.pth'

model = dict(
    _delete_=True,
    type='mmkd.SingleStageDistiller',
    student=_base_.model,
    teacher='mmdet::retinanet/retinanet_r101_fpn_1x_coco.py',
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
