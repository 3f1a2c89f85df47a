# Copyright (c) OpenMMLab. All rights reserved.
from .cls_cost_matrix import (CLS_FEATURE_SOURCES,
                              build_classification_cost_matrix,
                              collect_classification_class_features,
                              load_official_cost_matrix)
from .cost_matrix import (build_dense_cost_matrix,
                          build_detection_cost_matrix,
                          build_teacher_cost_matrix,
                          collect_dense_class_features,
                          collect_detection_class_features, load_cost_matrix,
                          load_cost_matrix_and_record, plot_cost_matrix,
                          save_cost_matrix)
from .cost_record import cost_matrix_record, record_mismatch, teacher_kind
from .export import export_student, plain_meta, save_student_checkpoint

__all__ = [
    'CLS_FEATURE_SOURCES', 'build_classification_cost_matrix',
    'collect_classification_class_features', 'load_official_cost_matrix',
    'build_detection_cost_matrix', 'collect_detection_class_features',
    'build_dense_cost_matrix', 'collect_dense_class_features', 'teacher_kind',
    'build_teacher_cost_matrix', 'load_cost_matrix',
    'load_cost_matrix_and_record', 'cost_matrix_record', 'record_mismatch',
    'plot_cost_matrix', 'save_cost_matrix',
    'export_student', 'plain_meta', 'save_student_checkpoint'
]
