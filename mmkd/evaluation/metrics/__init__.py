# Copyright (c) OpenMMLab. All rights reserved.
from .ece_metric import (CalibrationErrors, ECEMetric, calibration_errors,
                         expected_calibration_error)

__all__ = [
    'CalibrationErrors', 'ECEMetric', 'calibration_errors',
    'expected_calibration_error'
]
