# The CViT teacher of the ViT -> resnet8 pair, trained on ten times the
# data: the CViT of ./cvit-w96-d6_144e (width 96, 6 layers, convolutional
# stem, its SGD recipe) on 30000 training crops instead of 3000, as the OFA
# teachers are pretrained on more data than their CIFAR-100 students see.
# The crops come from the same seeded generator, so the first 3000 are the
# students' own and val and test are the usual ones:
#   python tools/make_toy_data.py --out-dir data/toy_digits_large \
#       --cls-only --num-cls-train 30000
# On 3000 crops the CViT memorises them and stops at val 68.1 (Mixup keeps
# it at chance, KD from resnet32 adds a point); on 30000 for 15 epochs
# (as many iterations as 144 of 3000) it reaches 73.9 with its training
# loss still at 0.79, so this runs 36 epochs (1 warm-up epoch, then a
# cosine per iteration). resnet8 alone reaches 75.9. Probes:
# tools/benchmarks/results/toy_hetero_vit_study/recipe_probes.json.
_base_ = ['./cvit-w96-d6_144e_toy-digits-cls.py']

train_dataloader = dict(dataset=dict(data_root='data/toy_digits_large/cls'))
max_epochs = 36
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1,
         T_max=max_epochs - 1, eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=9)
default_hooks = dict(checkpoint=dict(interval=9, max_keep_ckpts=-1))
