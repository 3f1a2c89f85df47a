# Self-distillation (Born-Again Networks) with WKD-L on ImageNet: a trained
# ResNet18 (mmpretrain's, 69.90 top-1) teaches a freshly initialised
# ResNet18 (paper: WKD-L 71.35 vs BAN 70.50). WKD-L settings of the R34 ->
# R18 run (tau 2, kappa 1, lambda 30, cosine decay). No official cost matrix
# exists for a ResNet18 teacher: build it once from the teacher's logits on
# ImageNet train (100 images per class) with
#   python tools/build_cost_matrix.py \
#       configs/imagenet/ban-wkd-l_resnet18-to-resnet18_8xb32-100e_in1k.py \
#       data/cost_matrices/imagenet/resnet18_logit_cka-k1.pth --kappa 1
# (that file already holds the sharpened cost, hence no kappa below).
_base_ = './_base_/resnet34-to-resnet18_8xb32-100e_in1k.py'

teacher_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet18_8xb32_in1k_20210831-fbbb1da6.pth'  # noqa: E501
cost_matrix = _base_.cost_matrix_dir + '/resnet18_logit_cka-k1.pth'

model = dict(
    teacher='mmpretrain::resnet/resnet18_8xb32_in1k.py',
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(
        loss_wkd_l=dict(
            type='mmkd.WKDLogitLoss',
            cost_matrix=cost_matrix,
            temperature=2.0,
            wd_weight=30.0,
            sinkhorn_reg=0.05,
            sinkhorn_iters=10)),
    distill_inputs=dict(loss_wkd_l='logits'))

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True),
    dict(type='mmkd.StudentCheckpointHook'),
]
