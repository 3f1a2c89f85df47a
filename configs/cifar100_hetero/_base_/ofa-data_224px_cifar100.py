# CIFAR-100 as the OFA protocol feeds it to CNNs and Transformers alike
# (Hao840/OFAKD @f7bb896, train.py with timm's create_loader; the WKD paper,
# section 4.1: "upsampled to 224 x 224"): the 32 px images resized to 224;
# training RandomResizedCrop(224, scale 0.08-1) + horizontal flip 0.5, test
# a resize by timm's crop_pct (0.875: short side 256) + CenterCrop(224);
# mean (0.5071, 0.4865, 0.4409), std (0.2673, 0.2564, 0.2762) of [0, 1]
# pixels. Batch 64 per GPU on 8 GPUs: the WKD paper's batch 512.
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']

data_preprocessor = dict(
    num_classes=100,
    mean=[0.5071 * 255, 0.4865 * 255, 0.4409 * 255],
    std=[0.2673 * 255, 0.2564 * 255, 0.2762 * 255],
    to_rgb=False)
train_pipeline = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator

# WKD-L's cost across architectures (the pair bases set the file): linear
# CKA of the teacher's logits on every training image (500 per class, the
# test transform, in order), kappa 1, built by the hook on first use and
# cached.
cost_matrix_hook = dict(
    type='mmkd.CostMatrixHook',
    source='logits',
    kappa=1.0,
    num_per_class=500,
    dataloader=dict(
        batch_size=64,
        num_workers=2,
        dataset=dict(
            type='CIFAR100',
            data_root='data/cifar100',
            split='train',
            pipeline=test_pipeline),
        sampler=dict(type='DefaultSampler', shuffle=False)))
# What every pair's distiller shares (each sets the student, the teacher
# and its file).
distiller = dict(
    type='mmkd.ClassificationDistiller',
    probe_size=224,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())
