# WKD-L on the dense class outputs at the student's positive priors (11-way
# categoricals from the 10 sigmoid logits, 'exclusive': softmax([z, 0])),
# cost matrix from the teacher head's classification-branch features (built
# once by CostMatrixHook, background last). tau 2, lambda 10 (cosine
# decay), Sinkhorn 0.05 x 10, kappa 1: the toy Faster R-CNN WKD-L config.
_base_ = './gfl_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

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
    # lambda decays with a cosine over the run (docs/methods.md section 4).
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=False),
    dict(type='mmkd.StudentCheckpointHook'),
]
