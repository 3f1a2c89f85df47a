# The toy classification teacher trained 3x longer (90 epochs), without
# Mixup: NOT the study's teacher. It memorises the 3000 training crops
# (train top-1 100 %), its val top-1 flattens at about 60 % from epoch 45,
# and KD students trained from its near one-hot outputs stayed near chance
# (configs/toy_digits_cls/README.md). The study uses
# resnet18-w16_60e-mixup_toy-digits-cls.py.
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
