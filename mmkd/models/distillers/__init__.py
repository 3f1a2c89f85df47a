# Copyright (c) OpenMMLab. All rights reserved.
from .base_distiller import (BaseDistiller, load_checkpoint_into,
                             strip_prefix, student_state_dict_from)
from .detection_distiller import SOURCES, DetectionDistiller

__all__ = [
    'BaseDistiller', 'DetectionDistiller', 'SOURCES', 'load_checkpoint_into',
    'strip_prefix', 'student_state_dict_from'
]
