# mobilenet-v2 on CIFAR-100 at 224 px: an OFA-protocol student trained alone
# with the WKD paper's cnn-student recipe (the 'student' row of its table).
_base_ = [
    './_base_/wkd-recipe-cnn_8xb64-300e_cifar100.py',
    './_base_/models/mobilenet-v2.py',
]
