# Copyright (c) OpenMMLab. All rights reserved.
"""Readers of mmdet heads shared by the distillers and the cost-matrix
builders (mmdet is imported only when they are called), and the one
feature-map layout of every classification backbone family."""
from .dense_head import (SUPPORTED_LABEL_HEADS, dense_label_getter,
                         dense_prior_labels, flatten_dense, gt_region_masks,
                         prior_spec)
from .detector_kind import detector_kind
from .feature_map import to_feature_map
from .roi_head import roi_forward, select_deltas

__all__ = [
    'SUPPORTED_LABEL_HEADS', 'dense_label_getter', 'dense_prior_labels',
    'detector_kind', 'flatten_dense', 'gt_region_masks', 'prior_spec',
    'roi_forward', 'select_deltas', 'to_feature_map'
]
