# Copyright (c) OpenMMLab. All rights reserved.
from .cls_cost_matrix import (CLS_FEATURE_SOURCES,
                              build_classification_cost_matrix,
                              collect_classification_class_features,
                              load_official_cost_matrix)
from .cost_matrix import (build_detection_cost_matrix,
                          collect_detection_class_features, load_cost_matrix,
                          plot_cost_matrix, save_cost_matrix)
from .export import export_student, plain_meta, save_student_checkpoint

__all__ = [
    'CLS_FEATURE_SOURCES', 'build_classification_cost_matrix',
    'collect_classification_class_features', 'load_official_cost_matrix',
    'build_detection_cost_matrix', 'collect_detection_class_features',
    'load_cost_matrix', 'plot_cost_matrix', 'save_cost_matrix',
    'export_student', 'plain_meta', 'save_student_checkpoint'
]
