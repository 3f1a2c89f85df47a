# The toy CViT teacher of the ViT -> resnet8 pair: width 96, 6 layers, 3
# heads (MLP 384), a convolutional stem of 48 / 96 channels giving 8 x 8
# tokens of 96 channels, trained with the recipe that makes a ViT learn these
# crops (./cvit-w48-d4_96e: SGD, 2 warm-up epochs, then a cosine), over 144
# epochs (3x its resnet8 student's 48, as the CRD teacher's) because the
# 96-epoch student was still learning at its end (train loss 0.82). About
# 18 s an epoch on one thread.
_base_ = ['./cvit-w48-d4_96e_toy-digits-cls.py']

model = dict(
    backbone=dict(
        stem_channels=(48, 96),
        arch=dict(embed_dims=96, num_layers=6, num_heads=3,
                  feedforward_channels=384)),
    head=dict(in_channels=96))
max_epochs = 144
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2,
         T_max=max_epochs - 2, eta_min=1e-5),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=18)
default_hooks = dict(checkpoint=dict(interval=36, max_keep_ckpts=-1))
