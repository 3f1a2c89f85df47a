# The toy CViT teacher of the ViT -> resnet8 pair: the CViT of
# ./cvit-w96-d6_144e (width 96, 6 layers, convolutional stem) trained with
# Mixup (alpha 1, as mmpretrain's CIFAR configs and the toy CRD teacher
# ../toy_digits_crd/resnet32_crd-144e-mixup). Without it the CViT memorises
# the 3000 training crops (train loss 0.29) and stops at val 68.1, below
# resnet8 alone (75.9): tools/benchmarks/results/toy_hetero_vit_study/
# probe_cvit-w96-d6_144e/.
_base_ = ['./cvit-w96-d6_144e_toy-digits-cls.py']

model = dict(
    # Mixup turns the labels into scores: the soft cross-entropy reads them.
    head=dict(loss=dict(use_soft=True)),
    train_cfg=dict(augments=dict(type='Mixup', alpha=1.0)))
