# MobileNetV1 (1.0 width, 4.2 M parameters) trained alone on ImageNet with
# the WKD recipe: 100 epochs, batch 256 (8 GPUs x 32), SGD Nesterov 0.9,
# wd 1e-4, lr 0.1 x0.1 at epochs 30/60/90. Also the plain student config of
# the R50 -> MobileNetV1 distillation runs (`tools/test.py` with an exported
# student checkpoint).
_base_ = [
    './_base_/models/mobilenet-v1_in1k.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(
    imports=['mmkd.models.backbones'], allow_failed_imports=False)

optim_wrapper = dict(optimizer=dict(nesterov=True))
