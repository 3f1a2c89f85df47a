# The toy ViT teacher: width 96, 6 layers, 3 heads (MLP 384), 8 x 8 patch
# tokens of 96 channels; trained 72 epochs (1.5x its resnet8 student's 48).
_base_ = [
    './_base_/vit-recipe_24e_toy-digits-cls.py',
    './_base_/vit-classifier_toy-digits-cls.py',
]

model = dict(
    backbone=dict(arch=dict(embed_dims=96, num_layers=6, num_heads=3,
                            feedforward_channels=384)),
    head=dict(in_channels=96))
max_epochs = 72
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2, T_max=70,
         eta_min=1e-5),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=18)
default_hooks = dict(checkpoint=dict(interval=18, max_keep_ckpts=-1))
