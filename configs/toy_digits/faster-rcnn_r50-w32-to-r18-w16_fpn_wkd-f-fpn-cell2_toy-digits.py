# FPN study candidate: WKD-F on P2-P6 with cells of 2 x 2 positions on every
# level (grids that scale with the level: 16 x 16 on P2 ... 1 x 1 on P6)
# instead of one 2 x 2 grid per level; weight matched to FitNet's initial
# term (weighted ~136 at the first step), its sweep centred there.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-f-fpn_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(grid=1, cell_size=2, loss_weight=0.02)),
    distill_inputs=dict(
        loss_wkd_f=dict(levels=None, level_weights=None)))
