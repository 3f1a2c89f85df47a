# Copyright (c) OpenMMLab. All rights reserved.
"""Evaluation metrics registered in :data:`mmkd.registry.METRICS`."""
from .metrics import (CalibrationErrors, ECEMetric, calibration_errors,
                      expected_calibration_error)

__all__ = [
    'CalibrationErrors', 'ECEMetric', 'calibration_errors',
    'expected_calibration_error'
]
