# Toy teacher: ResNet-50 at half width (base_channels=32), FPN 128, 512-d RoI
# FCs, trained from scratch on the toy digits set.
_base_ = [
    '../_base_/models/faster-rcnn_fpn_toy-digits.py',
    '../_base_/datasets/toy-digits_detection.py',
    '../_base_/schedules/toy-digits_600i.py', '../_base_/toy-digits_runtime.py'
]

model = dict(
    backbone=dict(depth=50, base_channels=32),
    neck=dict(in_channels=[128, 256, 512, 1024], out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=128),
        bbox_head=dict(in_channels=128, fc_out_channels=512)))
