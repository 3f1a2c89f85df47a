# The toy ViT student trained alone: width 48, 4 layers, 3 heads (MLP 192),
# 8 x 8 patch tokens of 48 channels.
_base_ = [
    './_base_/vit-recipe_24e_toy-digits-cls.py',
    './_base_/vit-classifier_toy-digits-cls.py',
]

model = dict(
    backbone=dict(arch=dict(embed_dims=48, num_layers=4, num_heads=3,
                            feedforward_channels=192)),
    head=dict(in_channels=48))
