# FitNet in the same framework: the MSE between the student's map, through
# the pair's linear projector, and the teacher's, on the same stages as
# WKD-F (hint weight 100 as mdistiller's CIFAR FitNet, whose hint is an
# intermediate stage; OFA's FitNet settings UNCONFIRMED).
fitnet = dict(type='mmkd.FitNetLoss', loss_weight=100.0)

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
