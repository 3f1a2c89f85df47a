# FPN study candidate on the GFL toy: as wkd-f-fpn-cell2 (P3-P6, cells of
# 2 x 2 positions), both maps standardised per image, level and channel
# first (PKD's normalisation); weight: the Faster R-CNN toy's, swept here
# on val.
_base_ = './gfl_r50-w32-to-r18-w16_fpn_wkd-f-fpn-cell2_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(normalize='channel', loss_weight=0.125)))
