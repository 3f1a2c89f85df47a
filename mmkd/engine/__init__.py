# Copyright (c) OpenMMLab. All rights reserved.
from .model_wrappers import MMKDDistributedDataParallel

__all__ = ['MMKDDistributedDataParallel']
