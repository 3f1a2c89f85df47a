# FPN study candidate on the GFL toy: as wkd-f-fpn-cell2 (P3-P6, cells of
# 2 x 2 positions), both maps standardised per image, level and channel
# first (PKD's normalisation); weight: the best on val of a first sweep
# from the Faster R-CNN toy's 0.125 (0.03125 / 0.125 / 0.5 / 2, on a GFL
# teacher since retrained), swept again here.
_base_ = './gfl_r50-w32-to-r18-w16_fpn_wkd-f-fpn-cell2_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(normalize='channel', loss_weight=0.5)))
