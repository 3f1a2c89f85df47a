# The toy classification teacher trained 3x longer (90 epochs): the teacher
# of the distillation study (tools/benchmarks/distill_study.py --task cls),
# which must be clearly better than every student. The 30-epoch teacher
# (resnet18-w16_toy-digits-cls.py) was barely above a KD student.
_base_ = ['./resnet18-w16_toy-digits-cls.py']

max_epochs = 90
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=1,
        end=max_epochs,
        eta_min=1e-5,
        convert_to_iter_based=True),
]
# Every 15 epochs, to read the teacher's val curve afterwards.
default_hooks = dict(checkpoint=dict(interval=15, max_keep_ckpts=-1))
