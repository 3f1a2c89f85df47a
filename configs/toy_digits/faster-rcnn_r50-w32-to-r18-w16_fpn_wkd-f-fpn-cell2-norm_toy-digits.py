# FPN study candidate: WKD-F on P2-P6, cells of 2 x 2 positions, both maps
# standardised per image, level and channel first (PKD's normalisation);
# weight matched to FitNet's initial term, its sweep centred there.
_base_ = './faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-f-fpn_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            grid=1, cell_size=2, normalize='channel', loss_weight=0.125)),
    distill_inputs=dict(
        loss_wkd_f=dict(levels=None, level_weights=None)))
