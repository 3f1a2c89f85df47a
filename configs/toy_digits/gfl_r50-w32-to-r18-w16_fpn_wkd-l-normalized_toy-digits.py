# WKD-L with the alternative sigmoid -> categorical conversion
# ('normalized': renormalised sigmoid scores, 1 - max score as background),
# to compare with the default 'exclusive' (wkd-l); all else equal.
_base_ = './gfl_r50-w32-to-r18-w16_fpn_wkd-l_toy-digits.py'

model = dict(
    distill_inputs=dict(loss_wkd_l=dict(categorical='normalized')))
