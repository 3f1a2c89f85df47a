# Toy GFL teacher: ResNet-50 at half width (base_channels=32), FPN 128,
# 128-channel head towers, trained from scratch on the toy digits set (600
# iterations at batch 8, as the toy Faster R-CNNs). SGD lr 0.01: mmdet's
# one-stage detectors train at half Faster R-CNN's lr (0.01 vs 0.02).
_base_ = [
    '../_base_/models/gfl_fpn_toy-digits.py',
    '../_base_/datasets/toy-digits_detection.py',
    '../_base_/schedules/toy-digits_600i.py', '../_base_/toy-digits_runtime.py'
]

model = dict(
    backbone=dict(depth=50, base_channels=32),
    neck=dict(in_channels=[128, 256, 512, 1024], out_channels=128),
    bbox_head=dict(in_channels=128, feat_channels=128))
optim_wrapper = dict(optimizer=dict(lr=0.01))
