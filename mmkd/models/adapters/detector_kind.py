# Copyright (c) OpenMMLab. All rights reserved.
"""Which kind of model a detector (or classifier) is, by duck typing."""
import torch.nn as nn

__all__ = ['detector_kind']


def detector_kind(model: nn.Module) -> str:
    """``'two_stage'``, ``'single_stage'`` or ``'other'`` for a model.

    A model with an ``roi_head`` is two-stage; one whose ``bbox_head`` is an
    mmdet dense head (``BaseDenseHead``: RetinaNet, GFL, FCOS, ATSS,
    RTMDet, ...) and that has no ``roi_head`` is single-stage; anything else
    (an mmpretrain classifier) is ``'other'``. mmdet is imported only for a
    model with a ``bbox_head``.

    Args:
        model (nn.Module): The model.

    Returns:
        str: The kind.
    """
    if getattr(model, 'roi_head', None) is not None:
        return 'two_stage'
    head = getattr(model, 'bbox_head', None)
    if head is not None:
        from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
        if isinstance(head, BaseDenseHead):
            return 'single_stage'
    return 'other'
