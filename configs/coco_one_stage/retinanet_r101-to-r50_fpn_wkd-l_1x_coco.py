# WKD-L on the dense class outputs at the student's positive anchors (81-way
# categoricals from the sigmoid logits, 'exclusive'), CKA cost matrix of the
# teacher's classification-branch features (CostMatrixHook, 81 x 81,
# background last). Hyper-parameters: the Faster R-CNN WKD-L configs
# (configs/coco); not tuned here.
_base_ = './retinanet_r101-to-r50_fpn_distill_1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(
            type='mmkd.WKDLogitLoss',
            cost_matrix=None,  # set by CostMatrixHook
            temperature=2.0,
            wd_weight=10.0,
            sinkhorn_reg=0.05,
            sinkhorn_iters=10,
            loss_weight=1.0)),
    distill_inputs=dict(
        loss_wkd_l=dict(
            source='dense_cls', locations='pos', categorical='exclusive')))

custom_hooks = [
    dict(
        type='mmkd.CostMatrixHook',
        cost_file=_base_.cost_file,
        kappa=1.0,
        num_per_class=100,
        bg_per_image=16),
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
