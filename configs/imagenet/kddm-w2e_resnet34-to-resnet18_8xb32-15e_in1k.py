# KDDM W2 (E), ImageNet ResNet34 -> ResNet18: exact OT between the pooled
# penultimate features (512-d on both sides, so no connector) of each
# GPU's batch of 32 (docs/methods.md section 6). The other KDDM metrics inherit
# this file and change the loss only.
#
# Protocol of the public KDDM code (the sources report CIFAR/SVHN only):
# the student starts from its own trained weights, here mmpretrain's
# ResNet18 (69.90 top-1 in its model zoo), and is fine-tuned for 15 epochs
# with SGD and a cosine schedule (lr 0.01 at batch 128 there, scaled to
# 0.02 for 8 x 32)
# with CE + lambda * D, lambda = 1e-4 (the public code's default for every
# metric; MMD, whose values are below 2, gets the toy config's 0.4). Not run
# at this scale here: tune lambda ("too large a lambda hurts accuracy").
_base_ = './_base_/resnet34-to-resnet18_8xb32-100e_in1k.py'

student_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet18_8xb32_in1k_20210831-fbbb1da6.pth'  # noqa: E501
model = dict(
    student=dict(init_cfg=dict(type='Pretrained', checkpoint=student_ckpt)),
    distill_losses=dict(
        loss_kddm=dict(
            type='mmkd.KDDMLoss', metric='wasserstein', loss_weight=1e-4)),
    distill_inputs=dict(loss_kddm='pooled'))

max_epochs = 15
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = dict(
    _delete_=True,
    type='CosineAnnealingLR',
    by_epoch=True,
    T_max=max_epochs,
    eta_min=1e-4)

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
