# Toy student: ResNet-18 at quarter width (base_channels=16), FPN 64, 256-d
# RoI FCs, trained from scratch on the toy digits set.
_base_ = [
    '../_base_/models/faster-rcnn_fpn_toy-digits.py',
    '../_base_/datasets/toy-digits_detection.py',
    '../_base_/schedules/toy-digits_600i.py', '../_base_/toy-digits_runtime.py'
]

model = dict(
    backbone=dict(depth=18, base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256)))
