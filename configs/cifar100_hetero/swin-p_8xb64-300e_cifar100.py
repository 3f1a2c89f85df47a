# swin-p on CIFAR-100 at 224 px: an OFA-protocol student trained alone with
# the WKD paper's transformer-student recipe (the 'student' row of its
# table).
_base_ = [
    './_base_/wkd-recipe-transformer_8xb64-300e_cifar100.py',
    './_base_/models/swin-p.py',
]
