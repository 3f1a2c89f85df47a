# Distillation base of the paper's R50 -> MobileNetV2 pair (no term; the
# variants add them). Teacher: mmdet's Faster R-CNN R50-FPN ms-3x (40.3 box
# AP; the paper's Detectron2 teacher has 40.2).
# Detection hyper-parameters of the variants (temperatures, lambda, w_F,
# grids) are mmkd's choices: the paper publishes none for detection.
_base_ = './faster-rcnn_mobilenetv2_fpn_ms-1x_coco.py'

custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r50_fpn_mstrain_3x_coco/faster_rcnn_r50_fpn_mstrain_3x_coco_20210524_110822-e10bd31c.pth'  # noqa: E501
cost_file = 'work_dirs/cost_matrices/coco_faster-rcnn_r50-ms3x_cka-k1.pth'

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student=_base_.model,
    teacher='mmdet::faster_rcnn/faster-rcnn_r50_fpn_ms-3x_coco.py',
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
