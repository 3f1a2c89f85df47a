# Copyright (c) OpenMMLab. All rights reserved.
"""Cost matrices (build, read, write, record) and student export.

The modules form one chain: :mod:`.collect` and :mod:`.class_rows` (reading
a teacher) <- one builder per model family (:mod:`.det_cost_matrix`,
:mod:`.dense_cost_matrix`, :mod:`.cls_cost_matrix`) <- the dispatcher
:mod:`.cost_matrix` that ``CostMatrixHook`` calls; :mod:`.cost_io` and
:mod:`.cost_record` (files and what they were built from) stand apart.
"""
from mmkd.utils.deprecation import renamed
from .cls_cost_matrix import (CLS_FEATURE_SOURCES,
                              build_classification_cost_matrix,
                              collect_classification_class_features)
from .cost_io import (load_cost_file, load_cost_matrix_and_record,
                      load_official_cost_matrix, plot_cost_matrix,
                      save_cost_matrix)
from .cost_matrix import build_teacher_cost_matrix, cost_matrix_names
from .cost_record import cost_matrix_record, record_mismatch, teacher_kind
from .dense_cost_matrix import (build_dense_cost_matrix,
                                collect_dense_class_features)
from .det_cost_matrix import (build_detection_cost_matrix,
                              collect_detection_class_features)
from .export import export_student, plain_meta, save_student_checkpoint

# Renamed (one release): mmkd.apis.load_cost_matrix is load_cost_file.
load_cost_matrix = renamed(load_cost_file, 'mmkd.apis.load_cost_matrix',
                           'mmkd.apis.load_cost_file')

__all__ = [
    'CLS_FEATURE_SOURCES', 'build_classification_cost_matrix',
    'collect_classification_class_features', 'load_official_cost_matrix',
    'build_detection_cost_matrix', 'collect_detection_class_features',
    'build_dense_cost_matrix', 'collect_dense_class_features', 'teacher_kind',
    'build_teacher_cost_matrix', 'cost_matrix_names', 'load_cost_file',
    'load_cost_matrix', 'load_cost_matrix_and_record', 'cost_matrix_record',
    'record_mismatch', 'plot_cost_matrix', 'save_cost_matrix',
    'export_student', 'plain_meta', 'save_student_checkpoint'
]
