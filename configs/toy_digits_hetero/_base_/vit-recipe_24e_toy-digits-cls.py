# A Transformer's recipe on the 32 x 32 toy digits crops, the CPU-sized
# counterpart of the WKD paper's Transformer-student recipe across
# architectures (AdamW, weight decay, cosine; ../../cifar100_hetero): AdamW
# lr 1e-3, weight decay 0.05 (a ViT trained from scratch on a few thousand
# crops needs the stronger decay), 2 linear warm-up epochs then a cosine,
# 24 epochs, batch 64; the toy CRD recipe's data. Weights are chosen on
# val, results reported on test.
_base_ = ['../../toy_digits_crd/_base_/crd-recipe_48e_toy-digits-cls.py']

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=6)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2,
         T_max=max_epochs - 2, eta_min=1e-5),
]
