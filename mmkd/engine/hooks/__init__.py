# Copyright (c) OpenMMLab. All rights reserved.
from .cost_matrix_hook import CostMatrixHook
from .distill_weight_hook import (DistillWeightScheduleHook,
                                  StopDistillationHook, distill_weight_factor)
from .student_checkpoint_hook import StudentCheckpointHook

__all__ = [
    'CostMatrixHook', 'DistillWeightScheduleHook', 'StopDistillationHook',
    'StudentCheckpointHook', 'distill_weight_factor'
]
