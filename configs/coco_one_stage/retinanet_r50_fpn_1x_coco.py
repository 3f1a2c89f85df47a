# Student of the RetinaNet R101 -> R50 pair: mmdet's RetinaNet R50-FPN 1x
# (36.5 box AP in mmdet's model zoo), unchanged; the "no distillation" row,
# named here so that the pair's configs sit together.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
