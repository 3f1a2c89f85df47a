# convnext-t on CIFAR-100 at 224 px: an OFA-protocol teacher, trained alone
# here with the WKD paper's Transformer-student recipe (OFA's teachers were
# trained elsewhere: their recipe is UNCONFIRMED).
_base_ = [
    './_base_/wkd-recipe-transformer_8xb64-300e_cifar100.py',
    './_base_/models/convnext-t.py',
]
