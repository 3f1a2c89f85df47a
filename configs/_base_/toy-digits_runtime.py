# mmdet's default runtime, iteration-based logging/checkpoints, fixed seed.
_base_ = 'mmdet::_base_/default_runtime.py'

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=600, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
