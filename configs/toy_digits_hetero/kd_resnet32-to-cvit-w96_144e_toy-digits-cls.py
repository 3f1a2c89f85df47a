# How the hetero_vit study's CViT teacher is trained: the CViT of
# ./cvit-w96-d6_144e (width 96, 6 layers, convolutional stem, 144 epochs of
# its SGD recipe) distilled from the toy CRD resnet32 (val 87.1) with KD, as
# DeiT trains its ViTs from a CNN teacher (Touvron et al., ICML 2021; soft
# distillation). Alone the CViT memorises the 3000 training crops and stops
# at val 68.1, below resnet8 alone (75.9); with Mixup it stays at chance
# for 50 epochs (tools/benchmarks/results/toy_hetero_vit_study/
# probe_cvit-w96-d6_144e/). The study restores its exported student
# (tools/export_student.py) as ./cvit-w96-d6_144e's weights.
_base_ = ['./kd_resnet32-to-cvit-w48_96e_toy-digits-cls.py']

model = dict(
    student=dict(
        backbone=dict(
            stem_channels=(48, 96),
            arch=dict(embed_dims=96, num_layers=6, num_heads=3,
                      feedforward_channels=384)),
        head=dict(in_channels=96)))
# ./cvit-w96-d6_144e's schedule.
max_epochs = 144
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2,
         T_max=max_epochs - 2, eta_min=1e-5),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=18)
default_hooks = dict(checkpoint=dict(interval=36, max_keep_ckpts=-1))
