# WKD-F, ConvNeXt-T -> Swin-P on CIFAR-100 at 224 px, across architectures
# (the WKD paper's Table 6, OFA protocol): grid 1, gamma 2, w_F 2e-2, the
# pair's linear projector (_base_/methods/wkd.py).
_base_ = [
    './_base_/pairs/convnext-t-to-swin-p.py',
    './_base_/methods/wkd.py',
]

wkd_f_input = dict(
    source='feature',
    connector='proj',
    student_stage=_base_.student_stage,
    teacher_stage=_base_.teacher_stage)
model = dict(
    distill_losses=dict(loss_wkd_f=_base_.wkd_f),
    distill_inputs=dict(loss_wkd_f=wkd_f_input),
    connectors=dict(proj=_base_.projector))
