# OFA's own recipe for ViT/MLP students (Hao840/OFAKD
# configs/cifar/vit_mlp.yaml): AdamW lr 5e-4, weight decay 0.05, 20 warm-up
# epochs from 5e-7, cosine to 1e-5, gradient clipping 5, label smoothing
# 0.1, colour jitter 0.4, RandAugment rand-m9-mstd0.5-inc1, random erasing
# 0.25, Mixup 0.8 / CutMix 1.0. A WKD-L term on Mixup batches reads
# argmax labels (distill_inputs labels='argmax', as the official code).
_base_ = ['./ofa-recipe-cnn_8xb128-300e_cifar100.py']

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=5e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=20, T_max=280,
         eta_min=1e-5),
]
train_pipeline = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand',
         min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=[103.53, 116.28, 123.675],
         fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
data_preprocessor = dict(batch_augments=dict(augments=[
    dict(type='Mixup', alpha=0.8),
    dict(type='CutMix', alpha=1.0),
]))
