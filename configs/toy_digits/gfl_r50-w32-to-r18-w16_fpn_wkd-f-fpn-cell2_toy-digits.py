# FPN study candidate on the GFL toy: WKD-F on P3-P6 with cells of 2 x 2
# positions on every level (8 x 8 cells on P3 ... 1 x 1 on P6) instead of one
# 2 x 2 grid per level; P7 (1 x 1) has one position, too few for a variance.
# Weight: the Faster R-CNN toy's, swept here on val.
_base_ = './gfl_r50-w32-to-r18-w16_fpn_wkd-f-fpn_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(grid=1, cell_size=2, loss_weight=0.02)),
    distill_inputs=dict(
        loss_wkd_f=dict(levels=[0, 1, 2, 3], level_weights=None)))
