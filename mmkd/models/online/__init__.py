# Copyright (c) OpenMMLab. All rights reserved.
"""Online distillation: teacher and student trained together."""
from .bdkd import EVAL_MODELS, BDKDOnlineDistiller

__all__ = ['BDKDOnlineDistiller', 'EVAL_MODELS']
