# FitNet baseline: MSE between the student's FPN outputs (through a 1x1
# connector 64 -> 128) and the teacher's, summed over levels; weight 16
# chosen on val by the toy RetinaNet study's sweep (around 1).
_base_ = './retinanet_r50-w32-to-r18-w16_fpn_distill_toy-digits.py'

model = dict(
    distill_losses=dict(
        loss_fitnet=dict(
            type='mmdet.MSELoss',
            loss_weight=16.0,  # chosen on val (study sweep)
        )),
    distill_inputs=dict(loss_fitnet=dict(source='fpn', connector='fpn')),
    connectors=dict(
        fpn=dict(type='mmkd.ConvConnector', in_channels=64,
                 out_channels=128)))
