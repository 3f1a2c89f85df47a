# FPN study candidate: WKD-F on P2-P6 with cells of 4 x 4 positions on every
# level (8 x 8 on P2 ... one cell on P5 and on the 2 x 2 P6); weight matched
# to FitNet's initial term, its sweep centred there.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-f-fpn_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(grid=1, cell_size=4, loss_weight=0.02)),
    distill_inputs=dict(
        loss_wkd_f=dict(levels=None, level_weights=None)))
