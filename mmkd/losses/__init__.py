# Copyright (c) OpenMMLab. All rights reserved.
"""Distillation losses: WKD-L, WKD-F, cost matrices and KL baselines."""
from .cost_matrix import (cka_cost_matrix, cka_similarity_matrix,
                          class_centroid_cosine, classifier_weight_cosine,
                          cost_matrix_from_similarity, linear_cka,
                          sharpen_cost)
from .dkd_loss import DKDLoss, dkd_loss
from .gaussian_wasserstein import (gaussian_wasserstein,
                                   gaussian_wasserstein_terms, psd_sqrtm)
from .kd_loss import KDLoss, kd_loss
from .sinkhorn import sinkhorn, sinkhorn_cost
from .utils import weight_reduce_loss
from .wkd_feature_loss import (WKDFeatureLoss, grid_cell_bounds,
                               wkd_feature_loss)
from .wkd_logit_loss import (WKDLogitLoss, check_cost_matrix,
                             load_cost_matrix, wkd_logit_loss)

__all__ = [
    'wkd_logit_loss', 'WKDLogitLoss', 'sinkhorn', 'sinkhorn_cost',
    'wkd_feature_loss', 'WKDFeatureLoss', 'grid_cell_bounds',
    'gaussian_wasserstein', 'gaussian_wasserstein_terms', 'psd_sqrtm',
    'linear_cka', 'cka_similarity_matrix', 'cka_cost_matrix',
    'cost_matrix_from_similarity', 'sharpen_cost', 'class_centroid_cosine',
    'classifier_weight_cosine', 'check_cost_matrix', 'load_cost_matrix',
    'kd_loss', 'KDLoss', 'dkd_loss', 'DKDLoss', 'weight_reduce_loss'
]
