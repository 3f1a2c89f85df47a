# Copyright (c) OpenMMLab. All rights reserved.
"""What mmkd reads from mmdet's RoI heads (two-stage detectors).

:func:`roi_forward` runs a ``StandardRoIHead``'s box branch on given RoIs
through its public modules, so a teacher scores exactly the student's
sampled RoIs; :func:`select_deltas` picks the box deltas each foreground RoI
is trained on. :class:`~mmkd.models.DetectionDistiller` and the two-stage
cost-matrix builder (:mod:`mmkd.apis.det_cost_matrix`) use them.
"""
from typing import Dict, Sequence

import torch.nn as nn
from torch import Tensor

__all__ = ['roi_forward', 'select_deltas']


def roi_forward(roi_head: nn.Module, x: Sequence[Tensor],
                rois: Tensor) -> Dict[str, Tensor]:
    """Box-head forward on given RoIs through public modules.

    The same three steps as mmdet 3.3's protected
    ``StandardRoIHead._bbox_forward`` (pinned by a test).

    Args:
        roi_head (nn.Module): A ``StandardRoIHead``-style head.
        x (Sequence[Tensor]): The neck outputs.
        rois (Tensor): (R, 5) RoIs, batch index first (``bbox2roi``).

    Returns:
        dict: ``cls_score`` (R, C+1), ``bbox_pred`` (R, 4 or 4C) and
        ``bbox_feats`` (R, C_roi, h, w).
    """
    extractor = roi_head.bbox_roi_extractor
    bbox_feats = extractor(x[:extractor.num_inputs], rois)
    if roi_head.with_shared_head:
        bbox_feats = roi_head.shared_head(bbox_feats)
    cls_score, bbox_pred = roi_head.bbox_head(bbox_feats)
    return dict(
        cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)


def select_deltas(head: nn.Module, bbox_pred: Tensor, labels: Tensor,
                  mask: Tensor) -> Tensor:
    """The 4 (or box-dim) deltas each selected foreground RoI is trained on.

    Args:
        head (nn.Module): The box head (``reg_class_agnostic``,
            ``num_classes``).
        bbox_pred (Tensor): Its (R, 4) or (R, 4C) output.
        labels (Tensor): (R, ) RoI labels.
        mask (Tensor): (R, ) bool, the foreground RoIs to keep.

    Returns:
        Tensor: (M, 4) deltas, M the RoIs in ``mask``.
    """
    if head.reg_class_agnostic:
        return bbox_pred[mask]
    per_class = bbox_pred.view(bbox_pred.size(0), head.num_classes, -1)
    return per_class[mask, labels[mask]]
