# WKD-L, ImageNet ResNet50 -> MobileNetV1 (paper: 73.17 top-1). Official
# hyper-parameters: tau 2, kappa 2, lambda 25, eta 0.05, 10 Sinkhorn
# iterations, target separation; lambda decays with a cosine from the first
# epoch. Cost matrix: the official ResNet50 one.
_base_ = './_base_/resnet50-to-mobilenetv1_8xb32-100e_in1k.py'

model = dict(
    distill_losses=dict(
        loss_wkd_l=dict(
            type='mmkd.WKDLogitLoss',
            cost_matrix=_base_.cost_matrix,
            kappa=_base_.kappa,
            temperature=2.0,
            wd_weight=25.0,
            sinkhorn_reg=0.05,
            sinkhorn_iters=10)),
    distill_inputs=dict(loss_wkd_l='logits'))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
