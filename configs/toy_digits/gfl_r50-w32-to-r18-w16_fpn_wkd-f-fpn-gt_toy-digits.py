# WKD-F on the FPN outputs restricted to object regions (region='gt': both
# sides zeroed outside the cells that overlap a ground-truth box); otherwise
# as wkd-f-fpn.
_base_ = './gfl_r50-w32-to-r18-w16_fpn_wkd-f-fpn_toy-digits.py'

model = dict(distill_inputs=dict(loss_wkd_f=dict(region='gt')))
