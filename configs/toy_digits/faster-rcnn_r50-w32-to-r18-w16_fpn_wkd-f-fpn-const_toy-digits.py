# FPN study candidate: the committed WKD-F on FPN (2 x 2 grid on P2-P5) with
# a constant weight, as FitNet has, instead of the cosine decay; its sweep
# centred on 0.01.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-f-fpn_toy-digits.py'

model = dict(distill_losses=dict(loss_wkd_f=dict(loss_weight=0.01)))
custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
