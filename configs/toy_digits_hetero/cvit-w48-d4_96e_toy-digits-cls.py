# The toy CViT student trained alone: the ViT of vit-w48-d4 (width 48, 4
# layers, 3 heads, 8 x 8 tokens) with a convolutional stem instead of the
# 4 x 4 patchify (mmkd.ConvStemViT), trained with the CNN students' SGD
# (lr 0.05, Nesterov momentum 0.9, weight decay 5e-4), 2 warm-up epochs then
# a cosine to epoch 96. Why: on these few thousand cluttered crops the plain
# ViT stays at chance under AdamW (13.2 % val after 72 epochs), the stem
# with AdamW too; this recipe reaches 66.1 % (40.9 at epoch 48; resnet8
# alone 75.9), tools/benchmarks/results/toy_hetero_cnn_study/
# recipe_probes.json.
_base_ = ['./vit-w48-d4_24e_toy-digits-cls.py']

model = dict(backbone=dict(type='mmkd.ConvStemViT', stem_channels=(24, 48)))
max_epochs = 96
optim_wrapper = dict(
    optimizer=dict(
        _delete_=True, type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4,
        nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2,
         T_max=max_epochs - 2, eta_min=1e-5),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=12)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
