# OFA's own recipe for CNN students (Hao840/OFAKD configs/cifar/cnn.yaml),
# the one behind the baseline numbers the WKD paper copies from OFA (KD,
# DKD, FitNet, CRD, OFA): 300 epochs, batch 128 per GPU on 8 GPUs (lr not
# scaled), SGD lr 0.05 (momentum 0.9), weight decay 2e-3, 3 linear warm-up
# epochs, cosine to 1e-3, label smoothing 0.1, no colour jitter. Switch a
# leaf config to it by replacing the recipe in its pair base.
_base_ = ['./wkd-recipe-cnn_8xb64-300e_cifar100.py']

train_dataloader = dict(batch_size=128)
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=3, T_max=297,
         eta_min=1e-3),
]
