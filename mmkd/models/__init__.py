# Copyright (c) OpenMMLab. All rights reserved.
from .connectors import BottleneckProjector, ConvConnector
from .distillers import (BaseDistiller, DetectionDistiller,
                         load_checkpoint_into, strip_prefix,
                         student_state_dict_from)

__all__ = [
    'BaseDistiller', 'BottleneckProjector', 'ConvConnector',
    'DetectionDistiller', 'load_checkpoint_into', 'strip_prefix',
    'student_state_dict_from'
]
