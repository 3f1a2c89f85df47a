# The teacher of the toy classification study
# (tools/benchmarks/distill_study.py --task cls): the toy teacher trained
# 60 epochs with Mixup (alpha 1, as mmpretrain's CIFAR configs), 3x the
# students' 20. Without Mixup, 90 epochs (resnet18-w16_90e_toy-digits-cls.py)
# memorise the 3000 training crops: val flattens at about 60 % and its
# near one-hot outputs stalled KD students at chance; this one reaches
# 71.4 % val and 72.9 % test with soft outputs (configs/toy_digits_cls/
# README.md).
_base_ = ['./resnet18-w16_toy-digits-cls.py']

model = dict(
    # Mixup turns the labels into scores: the soft cross-entropy reads them.
    head=dict(loss=dict(use_soft=True)),
    train_cfg=dict(augments=dict(type='Mixup', alpha=1.0)))
max_epochs = 60
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# The base's warm-up and cosine schedule, the cosine stretched to 60.
param_scheduler = _base_.param_scheduler
param_scheduler[1].end = max_epochs
# Every 15 epochs, to read the teacher's val curve afterwards.
default_hooks = dict(checkpoint=dict(interval=15, max_keep_ckpts=-1))
