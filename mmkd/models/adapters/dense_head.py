# Copyright (c) OpenMMLab. All rights reserved.
"""What mmkd reads from mmdet's dense (one-stage) heads.

* :func:`dense_prior_labels`: the class of every prior from the head's own
  target assignment (background ``= num_classes``), for the heads in
  :data:`SUPPORTED_LABEL_HEADS`;
* :func:`flatten_dense`: head outputs of all levels as one (N, P, width)
  tensor, in the same prior order;
* :func:`gt_region_masks`: per-level masks of the cells under ground-truth
  boxes;
* :func:`prior_spec`: what makes two heads place the same priors.

:class:`~mmkd.models.SingleStageDistiller` and the one-stage cost-matrix
builder (:mod:`mmkd.apis.dense_cost_matrix`) read the heads through these.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

__all__ = [
    'SUPPORTED_LABEL_HEADS', 'dense_label_getter', 'dense_prior_labels',
    'flatten_dense', 'gt_region_masks', 'prior_spec'
]

#: Heads :func:`dense_prior_labels` supports, for messages.
SUPPORTED_LABEL_HEADS = (
    'AnchorHead subclasses that keep AnchorHead.get_targets (RetinaHead, '
    'SSDHead, ...), ATSSHead, GFLHead (and LDHead), FCOSHead, RTMDetHead '
    '(and RTMDetSepBNHead)')
def dense_label_getter(head: nn.Module) -> Callable:
    """The per-prior label function of a dense head (its target assignment,
    as :func:`dense_prior_labels` calls it).

    Raises:
        NotImplementedError: For heads whose target assignment is not
            supported (named in the message).
    """
    from mmdet.models.dense_heads import (AnchorHead, ATSSHead, FCOSHead,
                                          GFLHead, RTMDetHead)
    get_targets = type(head).get_targets
    if isinstance(head, RTMDetHead) and \
            get_targets is RTMDetHead.get_targets:
        return _rtmdet_labels
    # anchors first, labels second (ATSS/GFL); labels first (AnchorHead)
    if isinstance(head, (ATSSHead, GFLHead)) and get_targets in (
            ATSSHead.get_targets, GFLHead.get_targets):
        return lambda *args: _anchor_labels(*args, index=1)
    if isinstance(head, AnchorHead) and \
            get_targets is AnchorHead.get_targets:
        return lambda *args: _anchor_labels(*args, index=0)
    if isinstance(head, FCOSHead) and get_targets is FCOSHead.get_targets:
        return _point_labels
    raise NotImplementedError(
        f'Per-prior labels of {type(head).__name__} (its target assignment) '
        f'are not supported; supported heads: {SUPPORTED_LABEL_HEADS}. '
        "Only the 'fpn' source works with this head.")


def _anchor_labels(head: nn.Module, featmap_sizes: List[torch.Size],
                   batch_gt_instances: list, batch_img_metas: List[dict],
                   batch_gt_instances_ignore: Optional[list],
                   device: torch.device, preds: Optional[Sequence],
                   index: int) -> Tensor:
    anchor_list, valid_flag_list = head.get_anchors(
        featmap_sizes, batch_img_metas, device=device)
    targets = head.get_targets(
        anchor_list,
        valid_flag_list,
        batch_gt_instances,
        batch_img_metas,
        batch_gt_instances_ignore=batch_gt_instances_ignore)
    return torch.cat(targets[index], dim=1)  # per level (N, P_l)


def _point_labels(head: nn.Module, featmap_sizes: List[torch.Size],
                  batch_gt_instances: list, batch_img_metas: List[dict],
                  batch_gt_instances_ignore: Optional[list],
                  device: torch.device, preds: Optional[Sequence]) -> Tensor:
    points = head.prior_generator.grid_priors(
        featmap_sizes, dtype=torch.float32, device=device)
    labels = head.get_targets(points, batch_gt_instances)[0]
    # FCOS concatenates the images within each level: (N * P_l, )
    num_imgs = len(batch_img_metas)
    return torch.cat([lvl.view(num_imgs, -1) for lvl in labels], dim=1)


def _rtmdet_labels(head: nn.Module, featmap_sizes: List[torch.Size],
                   batch_gt_instances: list, batch_img_metas: List[dict],
                   batch_gt_instances_ignore: Optional[list],
                   device: torch.device, preds: Optional[Sequence]) -> Tensor:
    # RTMDet's DynamicSoftLabelAssigner matches on the predictions, so the
    # labels are those of RTMDetHead.loss_by_feat on these outputs
    from mmdet.structures.bbox import distance2bbox
    if preds is None:
        raise ValueError(
            f'{type(head).__name__} assigns targets from its predictions '
            '(DynamicSoftLabelAssigner); pass the head outputs '
            '(cls_scores, bbox_preds) as `preds`.')
    cls_scores, bbox_preds = preds[0], preds[1]
    sizes = [tuple(c.shape[-2:]) for c in cls_scores]
    if sizes != [tuple(f) for f in featmap_sizes]:
        raise ValueError(f'featmap_sizes {[tuple(f) for f in featmap_sizes]} '
                         f'do not match the sizes of preds {sizes}.')
    num_imgs = len(batch_img_metas)
    anchor_list, valid_flag_list = head.get_anchors(
        featmap_sizes, batch_img_metas, device=device)
    scores = flatten_dense(cls_scores, head.cls_out_channels).detach()
    boxes = torch.cat([
        distance2bbox(anchor.reshape(-1, 4),
                      pred.detach().permute(0, 2, 3, 1).reshape(
                          num_imgs, -1, 4))
        for anchor, pred in zip(anchor_list[0], bbox_preds)
    ], 1)
    targets = head.get_targets(
        scores,
        boxes,
        anchor_list,
        valid_flag_list,
        batch_gt_instances,
        batch_img_metas,
        batch_gt_instances_ignore=batch_gt_instances_ignore)
    return torch.cat(targets[1], dim=1)


def dense_prior_labels(head: nn.Module,
                       featmap_sizes: Sequence[torch.Size],
                       batch_gt_instances: list,
                       batch_img_metas: List[dict],
                       batch_gt_instances_ignore: Optional[list] = None,
                       device: Optional[torch.device] = None,
                       preds: Optional[Sequence] = None) -> Tensor:
    """Per-prior labels of a batch from a dense head's own assignment.

    Runs the head's target assignment as its ``loss_by_feat`` does (same
    priors, valid flags, assigner and sampler) and returns the class of
    every prior, background ``= num_classes``. Priors are ordered as
    :func:`flatten_dense` orders the head outputs: per image, level by
    level, and within a level location-major then anchor (mmdet's
    ``permute(0, 2, 3, 1)`` order).

    Args:
        head (nn.Module): A dense head built with a ``train_cfg`` (see
            :data:`SUPPORTED_LABEL_HEADS`).
        featmap_sizes (Sequence[torch.Size]): (H, W) of every level.
        batch_gt_instances (list[InstanceData]): Ground truth per image.
        batch_img_metas (list[dict]): Image metas (``img_shape``,
            ``pad_shape``).
        batch_gt_instances_ignore (list[InstanceData], optional): Ignored
            boxes per image. Defaults to None.
        device (torch.device, optional): Device of the priors. Defaults to
            the CPU.
        preds (Sequence, optional): The head's outputs (``cls_scores``,
            ``bbox_preds``, per level), for heads that assign from their
            predictions (RTMDet); unused by the others. Defaults to None.

    Returns:
        torch.Tensor: Long labels of shape (N, P), P the priors of all
        levels of one image.

    Raises:
        NotImplementedError: If the head's assignment is not supported.
        ValueError: If the head assigns from predictions and ``preds`` is
            missing.
    """
    getter = dense_label_getter(head)
    device = torch.device('cpu') if device is None else device
    return getter(head, [torch.Size(s) for s in featmap_sizes],
                  batch_gt_instances, batch_img_metas,
                  batch_gt_instances_ignore, device, preds)


def flatten_dense(maps: Sequence[Tensor], width: int) -> Tensor:
    """Dense head outputs of all levels as one (N, P, width) tensor.

    Args:
        maps (Sequence[Tensor]): Per level (N, A * width, H, W), e.g.
            ``cls_scores`` (``width = cls_out_channels``) or GFL
            ``bbox_preds`` (``width = 4 * (reg_max + 1)``).
        width (int): Channels per prior.

    Returns:
        torch.Tensor: (N, P, width), P = sum over levels of H * W * A, in
        the order of :func:`dense_prior_labels`.
    """
    return torch.cat([
        m.permute(0, 2, 3, 1).reshape(m.shape[0], -1, width) for m in maps
    ], dim=1)


def gt_region_masks(featmap_sizes: Sequence[Tuple[int, int]],
                    strides: Sequence[Tuple[int, int]],
                    batch_gt_instances: list,
                    device: Optional[torch.device] = None) -> List[Tensor]:
    """Per-level masks of the feature cells that overlap a ground-truth box.

    A cell ``(i, j)`` of a level with stride ``(s_w, s_h)`` covers
    ``[j s_w, (j + 1) s_w) x [i s_h, (i + 1) s_h)`` of the padded input; it
    is in the mask when that square overlaps a box, so every box marks at
    least one cell on every level, however small it is.

    Args:
        featmap_sizes (Sequence[tuple[int, int]]): (H, W) per level.
        strides (Sequence[tuple[int, int]]): (stride_w, stride_h) per
            level, as mmdet's prior generators keep them.
        batch_gt_instances (list[InstanceData]): Ground truth per image
            (``bboxes`` in input pixels, x1 y1 x2 y2).
        device (torch.device, optional): Device of the masks. Defaults to
            the CPU.

    Returns:
        list[Tensor]: Per level, a float (N, 1, H, W) mask of 0 and 1.
    """
    from mmdet.structures.bbox import get_box_tensor
    device = torch.device('cpu') if device is None else device
    boxes = [
        get_box_tensor(gt.bboxes).to(device=device, dtype=torch.float32)
        for gt in batch_gt_instances
    ]
    masks = []
    for (height, width), (s_w, s_h) in zip(featmap_sizes, strides):
        left = torch.arange(width, device=device, dtype=torch.float32) * s_w
        top = torch.arange(height, device=device, dtype=torch.float32) * s_h
        per_image = []
        for box in boxes:
            cols = (left[None] < box[:, 2:3]) & (left[None] + s_w >
                                                 box[:, 0:1])  # (G, W)
            rows = (top[None] < box[:, 3:4]) & (top[None] + s_h >
                                                box[:, 1:2])  # (G, H)
            per_image.append((rows[:, :, None] & cols[:, None, :]).any(0))
        masks.append(torch.stack(per_image)[:, None].float())
    return masks


def _plain(value):
    """Tensors, numbers and nested sequences as comparable tuples."""
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, float):
        return round(value, 6)  # tensor round-off must not tell heads apart
    return value


def prior_spec(head: nn.Module) -> Dict[str, object]:
    """What makes two heads' priors coincide: the generator type, strides,
    priors per location and, for anchors, sizes, scales, ratios, centres.

    Args:
        head (nn.Module): A dense head.

    Returns:
        dict: Name -> comparable value.
    """
    gen = getattr(head, 'prior_generator', None)
    if gen is None:
        return dict(type=None)
    spec: Dict[str, object] = dict(
        type=type(gen).__name__,
        strides=_plain(gen.strides),
        num_base_priors=_plain(gen.num_base_priors))
    for attr in ('base_sizes', 'scales', 'ratios', 'centers', 'center_offset',
                 'offset', 'scale_major'):
        if getattr(gen, attr, None) is not None:
            spec[attr] = _plain(getattr(gen, attr))
    return spec
