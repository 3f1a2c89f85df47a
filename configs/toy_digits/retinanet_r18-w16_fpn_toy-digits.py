# Toy RetinaNet student: ResNet-18 at quarter width (base_channels=16), FPN 64,
# 64-channel head towers, trained from scratch on the toy digits set.
# Same anchors as the teacher (retinanet_fpn_toy-digits.py), so
# dense terms compare both heads at the same priors.
_base_ = [
    '../_base_/models/retinanet_fpn_toy-digits.py',
    '../_base_/datasets/toy-digits_detection.py',
    '../_base_/schedules/toy-digits_600i.py', '../_base_/toy-digits_runtime.py'
]

model = dict(
    backbone=dict(depth=18, base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    bbox_head=dict(in_channels=64, feat_channels=64))
optim_wrapper = dict(optimizer=dict(lr=0.01))
