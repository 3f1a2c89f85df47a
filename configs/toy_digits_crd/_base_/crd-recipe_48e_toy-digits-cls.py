# The CRD CIFAR-100 recipe (../../cifar100/_base_/crd-recipe_1xb64-240e_
# cifar100.py) shortened fivefold for the 32 x 32 toy digits crops on a CPU:
# 48 epochs instead of 240, lr 0.05 x0.1 after epochs 30/36/42 (150/180/210
# scaled), SGD with Nesterov momentum 0.9, weight decay 5e-4, batch 64; the
# toy set's own pipeline (padding-2 crops, no flips: a mirrored digit is
# another glyph) and normalisation. Weights are chosen on val, results
# reported on test. Not tenfold: the cluttered crops hold SGD near chance
# for the first 10-20 epochs, and a 24-epoch schedule (steps at 15/18/21)
# cut that climb short at a point that varied from run to run (resnet8 alone
# val 37.0; distilled runs 27-81, see tools/benchmarks/results/
# toy_crd_study/recipe_24e/); at 48 epochs resnet8 alone ends at val 75.9
# (seed 0) and 76.1 (seed 1). At 24 epochs lr 0.01 stayed at chance and
# lr 0.1 reached 58.2 (recipe_24e/recipe_probes.json).
_base_ = [
    '../../_base_/datasets/toy-digits_classification.py',
    'mmpretrain::_base_/default_runtime.py',
]

max_epochs = 48
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4,
        nesterov=True))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[30, 36, 42], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=12)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)

custom_imports = dict(
    imports=[
        'mmkd', 'mmkd.evaluation', 'mmkd.models.backbones',
        'mmkd.models.distillers.classification_distiller'
    ],
    allow_failed_imports=False)
