# Copyright (c) OpenMMLab. All rights reserved.
from .cost_matrix import (build_detection_cost_matrix,
                          collect_detection_class_features, load_cost_matrix,
                          plot_cost_matrix, save_cost_matrix)
from .export import export_student, plain_meta, save_student_checkpoint

__all__ = [
    'build_detection_cost_matrix', 'collect_detection_class_features',
    'load_cost_matrix', 'plot_cost_matrix', 'save_cost_matrix',
    'export_student', 'plain_meta', 'save_student_checkpoint'
]
