# Copyright (c) OpenMMLab. All rights reserved.
from .base_distiller import (BaseDistiller, load_checkpoint_into,
                             strip_prefix, student_state_dict_from)
from .classification_distiller import (CLS_SOURCES, ClassificationDistiller,
                                       StageRecorder)
from .detection_distiller import SOURCES, DetectionDistiller
from .detector_distiller_base import BaseDetectorDistiller
from .single_stage_distiller import (SINGLE_STAGE_SOURCES,
                                     SingleStageDistiller, dense_prior_labels,
                                     flatten_dense, gt_region_masks)

__all__ = [
    'BaseDistiller', 'BaseDetectorDistiller', 'ClassificationDistiller',
    'CLS_SOURCES', 'DetectionDistiller', 'SINGLE_STAGE_SOURCES',
    'SingleStageDistiller', 'SOURCES', 'StageRecorder', 'dense_prior_labels',
    'flatten_dense', 'gt_region_masks', 'load_checkpoint_into',
    'strip_prefix', 'student_state_dict_from'
]
