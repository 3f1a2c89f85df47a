# Copyright (c) OpenMMLab. All rights reserved.
from .base_distiller import (BaseDistiller, load_checkpoint_into,
                             strip_prefix, student_state_dict_from)
from .classification_distiller import (CLS_SOURCES, ClassificationDistiller,
                                       StageRecorder)
from .detection_distiller import SOURCES, DetectionDistiller

__all__ = [
    'BaseDistiller', 'ClassificationDistiller', 'CLS_SOURCES',
    'DetectionDistiller', 'SOURCES', 'StageRecorder', 'load_checkpoint_into',
    'strip_prefix', 'student_state_dict_from'
]
