# The WKD paper's recipe for a Transformer student across architectures
# (appendix C.5): as the CNN recipe but AdamW, lr 2.5e-4, weight decay 2e-3.
_base_ = ['./wkd-recipe-cnn_8xb64-300e_cifar100.py']

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2.5e-4,
                   weight_decay=2e-3))
