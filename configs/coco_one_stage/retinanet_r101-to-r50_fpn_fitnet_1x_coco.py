# FitNet baseline on the FPN outputs P3-P7 (1x1 conv regressor 256 -> 256,
# MSE, summed over levels). Weight 1: the toy Faster R-CNN FitNet config's
# before its study chose 4 (configs/toy_digits); not tuned on COCO.
_base_ = './retinanet_r101-to-r50_fpn_distill_1x_coco.py'

model = dict(
    distill_losses=dict(
        loss_fitnet=dict(type='mmdet.MSELoss', loss_weight=1.0)),
    distill_inputs=dict(loss_fitnet=dict(source='fpn', connector='fpn')),
    connectors=dict(
        fpn=dict(
            type='mmkd.ConvConnector', in_channels=256, out_channels=256)))
