# Copyright (c) OpenMMLab. All rights reserved.
from ..adapters import dense_prior_labels, flatten_dense, gt_region_masks
from ..checkpoint_io import (load_checkpoint_into, strip_prefix,
                             student_state_dict_from)
from ..recorder import StageRecorder
from .base_distiller import BaseDistiller
from .classification_distiller import CLS_SOURCES, ClassificationDistiller
from .detection_distiller import DETECTION_SOURCES, DetectionDistiller
from .detector_distiller_base import BaseDetectorDistiller
from .single_stage_distiller import SINGLE_STAGE_SOURCES, SingleStageDistiller
from .step import StepContext
from .terms import Source, TermKey

# dense_prior_labels, flatten_dense, gt_region_masks, StageRecorder and the
# checkpoint functions moved (to mmkd.models.adapters, .recorder and
# .checkpoint_io); importing them from here keeps working for one release.
__all__ = [
    'BaseDistiller', 'BaseDetectorDistiller', 'ClassificationDistiller',
    'CLS_SOURCES', 'DetectionDistiller', 'DETECTION_SOURCES',
    'SINGLE_STAGE_SOURCES', 'SingleStageDistiller', 'Source', 'StageRecorder',
    'StepContext', 'TermKey', 'dense_prior_labels', 'flatten_dense',
    'gt_region_masks', 'load_checkpoint_into', 'strip_prefix',
    'student_state_dict_from'
]
