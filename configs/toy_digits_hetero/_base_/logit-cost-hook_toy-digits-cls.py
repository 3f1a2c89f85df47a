# WKD-L's cost as across architectures (../../cifar100_hetero): linear CKA
# of the teacher's logits on every training crop (300 per class), the test
# pipeline, in order, kappa 1 (each pair sets the file), and what every toy
# pair's distiller shares.
cost_matrix_hook = dict(
    type='mmkd.CostMatrixHook',
    source='logits',
    kappa=1.0,
    num_per_class=300,
    dataloader=dict(
        batch_size=200,
        num_workers=1,
        dataset=dict(
            type='CustomDataset',
            data_root='data/toy_digits/cls',
            data_prefix='train',
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='PackInputs'),
            ]),
        sampler=dict(type='DefaultSampler', shuffle=False)))
distiller = dict(
    type='mmkd.ClassificationDistiller',
    probe_size=32,
    distill_losses=dict(),
    distill_inputs=dict(),
    connectors=dict())
