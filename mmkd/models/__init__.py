# Copyright (c) OpenMMLab. All rights reserved.
from .backbones import MobileNetV1
from .builder import build_model
from .checkpoint_io import (load_checkpoint_into, strip_prefix,
                            student_state_dict_from)
from .connectors import (BottleneckProjector, ConvConnector,
                         ConvRegConnector, LinearConnector,
                         LinearMapConnector)
from .distillers import (BaseDetectorDistiller, BaseDistiller,
                         ClassificationDistiller, DetectionDistiller,
                         SingleStageDistiller)
from .online import BDKDOnlineDistiller

__all__ = [
    'BaseDetectorDistiller', 'BaseDistiller', 'BDKDOnlineDistiller',
    'BottleneckProjector', 'ClassificationDistiller', 'ConvConnector',
    'ConvRegConnector',
    'DetectionDistiller', 'LinearConnector', 'LinearMapConnector',
    'MobileNetV1',
    'SingleStageDistiller', 'build_model', 'load_checkpoint_into',
    'strip_prefix', 'student_state_dict_from'
]
