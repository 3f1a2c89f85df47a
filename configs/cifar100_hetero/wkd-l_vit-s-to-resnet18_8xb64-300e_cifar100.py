# WKD-L, ViT-S -> ResNet18 on CIFAR-100 at 224 px, across architectures (the
# WKD paper's Table 6, OFA protocol): tau 2, kappa 1, lambda 100, the cost
# from the teacher's logits (_base_/methods/wkd.py).
_base_ = [
    './_base_/pairs/vit-s-to-resnet18.py',
    './_base_/methods/wkd.py',
]

model = dict(
    distill_losses=dict(loss_wkd_l=_base_.wkd_l),
    distill_inputs=dict(loss_wkd_l=_base_.wkd_l_input))
custom_hooks = [_base_.cost_matrix_hook, *_base_.custom_hooks]
