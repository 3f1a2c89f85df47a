# Toy teacher trained alone: ResNet_CIFAR-18 at width 16, 30 epochs (the
# students get 20).
_base_ = ['./resnet18-w8_toy-digits-cls.py']

model = _base_.teacher_model
max_epochs = 30
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
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
default_hooks = dict(checkpoint=dict(interval=max_epochs))
