# The WKD ImageNet recipe on mmpretrain's bases: ImageNet at 224 px, batch
# 256 (8 GPUs x 32), 100 epochs, SGD momentum 0.9 with Nesterov, wd 1e-4,
# lr 0.1 x0.1 at epochs 30/60/90 (docs/methods.md section 3).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(nesterov=True))

# The official WKD cost matrices (1 - CKA of the teacher logits on ImageNet
# train, 1000 x 1000) are not downloaded: copy them here first, e.g.
#   mkdir -p data/cost_matrices
#   cp -r <official_cost_matrices>/imagenet data/cost_matrices/
# (see configs/imagenet/README.md). The WKD-L loss sharpens them with kappa.
cost_matrix_dir = 'data/cost_matrices/imagenet'

custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]

custom_imports = dict(
    imports=[
        'mmkd', 'mmkd.models.backbones',
        'mmkd.models.distillers.classification_distiller'
    ],
    allow_failed_imports=False)
