# Copyright (c) OpenMMLab. All rights reserved.
from .model_wrappers import MMKDDistributedDataParallel

__all__ = ['MMKDDistributedDataParallel']
from .hooks import *  # noqa: F401,F403
