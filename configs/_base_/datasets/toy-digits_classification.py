# Toy digits classification set (32x32 RGB crops, classes "0".."9"), made by
# `python tools/make_toy_data.py` as mmpretrain CustomDataset folders
# data/toy_digits/cls/{train,val,test}/<digit>/*.png. No flips: mirrored
# digits are other glyphs. Accuracy and calibration (ECE/MCE, 15 bins).
dataset_type = 'CustomDataset'
data_root = 'data/toy_digits/cls'
# Picked up by mmengine's Runner as the model's default data_preprocessor.
data_preprocessor = dict(
    type='ClsDataPreprocessor',
    num_classes=10,
    mean=[127.5] * 3,
    std=[127.5] * 3,
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=200,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='mmkd.ECEMetric', n_bins=15),
]
# Weights and schedules are chosen on val; results are reported on test,
# crops drawn from glyphs that neither train nor val use.
test_dataloader = dict(
    batch_size=200,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_evaluator = val_evaluator
