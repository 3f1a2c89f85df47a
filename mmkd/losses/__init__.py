# Copyright (c) OpenMMLab. All rights reserved.
"""Distillation losses: WKD-L, WKD-F, cost matrices, KL baselines, KDDM,
BD-KD, FitNet, the 1-D box-distribution Wasserstein loss and the
categorical view of sigmoid class scores."""
from mmkd.utils.deprecation import renamed
from .bdkd_loss import (BDKDStudentLoss, BDKDTeacherLoss, bdkd_student_loss,
                        bdkd_teacher_loss, entropy_gap_weights)
from .box_wasserstein_loss import WassersteinBoxLoss, wasserstein_1d_loss
from .channel_wise_kl_loss import ChannelWiseKLLoss, channel_wise_kl_loss
from .cost_matrix import (cka_cost_matrix, cka_similarity_matrix,
                          class_centroid_cosine, classifier_weight_cosine,
                          cost_matrix_from_similarity, linear_cka,
                          sharpen_cost)
from .contract import DistillLoss, LossContract, loss_contract
from .dkd_loss import DKDLoss, dkd_loss
from .fitnet_loss import FitNetLoss, fitnet_loss
from .gaussian_wasserstein import (gaussian_wasserstein,
                                   gaussian_wasserstein_terms, psd_sqrtm)
from .kd_loss import KDLoss, kd_loss
from .kddm_loss import (KDDMLoss, class_conditional, empirical_wasserstein,
                        fit_gaussian, fitted_gaussian_wasserstein,
                        gaussian_kl_divergence, joint_wasserstein,
                        kddm_distance, mmd_linear, mmd_rbf)
from .sigmoid_categorical import (SIGMOID_CATEGORICAL_MODES,
                                  sigmoid_to_categorical_logits)
from .sinkhorn import sinkhorn, sinkhorn_cost
from .spatial_wasserstein_loss import (SpatialWassersteinLoss,
                                       spatial_sinkhorn_cost,
                                       spatial_wasserstein_loss)
from .utils import weight_reduce_loss
from .wkd_feature_loss import (WKDFeatureLoss, grid_cell_bounds,
                               wkd_feature_loss)
from .wkd_logit_loss import (WKDLogitLoss, as_cost_matrix, check_cost_matrix,
                             wkd_logit_loss)

__all__ = [
    'wkd_logit_loss', 'WKDLogitLoss', 'sinkhorn', 'sinkhorn_cost',
    'wkd_feature_loss', 'WKDFeatureLoss', 'grid_cell_bounds',
    'gaussian_wasserstein', 'gaussian_wasserstein_terms', 'psd_sqrtm',
    'linear_cka', 'cka_similarity_matrix', 'cka_cost_matrix',
    'cost_matrix_from_similarity', 'sharpen_cost', 'class_centroid_cosine',
    'classifier_weight_cosine', 'check_cost_matrix', 'as_cost_matrix',
    'kd_loss', 'KDLoss', 'dkd_loss', 'DKDLoss', 'weight_reduce_loss',
    'KDDMLoss', 'kddm_distance', 'empirical_wasserstein',
    'class_conditional', 'joint_wasserstein', 'fit_gaussian',
    'fitted_gaussian_wasserstein', 'gaussian_kl_divergence', 'mmd_linear',
    'mmd_rbf', 'BDKDStudentLoss', 'BDKDTeacherLoss', 'bdkd_student_loss',
    'bdkd_teacher_loss', 'entropy_gap_weights', 'wasserstein_1d_loss',
    'WassersteinBoxLoss', 'SIGMOID_CATEGORICAL_MODES',
    'sigmoid_to_categorical_logits', 'DistillLoss', 'LossContract',
    'SpatialWassersteinLoss', 'spatial_sinkhorn_cost',
    'spatial_wasserstein_loss', 'ChannelWiseKLLoss', 'channel_wise_kl_loss',
    'loss_contract', 'load_cost_matrix', 'FitNetLoss', 'fitnet_loss'
]

# Renamed (one release): mmkd.losses.load_cost_matrix is as_cost_matrix.
load_cost_matrix = renamed(as_cost_matrix, 'mmkd.losses.load_cost_matrix',
                           'mmkd.losses.as_cost_matrix')
