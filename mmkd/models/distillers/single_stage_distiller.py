# Copyright (c) OpenMMLab. All rights reserved.
"""Distillation of one-stage mmdet detectors (RetinaNet, GFL, FCOS, ATSS,
RTMDet: ``SingleStageDetector`` subclasses with a dense head).

The distiller runs the student's head once (``outs = bbox_head(x)``) and
hands the same ``outs`` to ``bbox_head.loss_by_feat`` for the student's own
losses, exactly as mmdet's ``BaseDenseHead.loss`` does; the distillation
terms read the same ``outs``. The teacher runs once per step under
``no_grad`` on the same preprocessed batch (converted to its normalisation,
see :meth:`~mmkd.models.BaseDistiller.teacher_inputs`); its head outputs are
compared with the student's at the same priors, which is why both heads
must share the prior generator (strides, anchor sizes/scales/ratios) and
produce the same feature-map sizes (checked, with both values in the
error).

Which priors are positive comes from the student head's own target
assignment (:func:`dense_prior_labels`): ``AnchorHead.get_targets`` for
RetinaNet-like heads, the ATSS assigner path of ``ATSSHead``/``GFLHead``,
``FCOSHead.get_targets`` for FCOS, and for RTMDet its dynamic soft-label
assignment on the student's detached outputs. The assignment runs a second
time for the distiller (``loss_by_feat`` does not return it); these
assigners are deterministic functions of their inputs, so both runs agree.
The cost is that of the assignment: IoUs between priors and boxes, small
next to the networks, except RTMDet's, whose cost matrix spans valid priors
x boxes x classes and is paid twice per step.

What it shares with :class:`~mmkd.models.DetectionDistiller` (FPN terms,
connector and class checks, cost-matrix size, non-finite teacher reports)
lives in :class:`~mmkd.models.distillers.detector_distiller_base.
BaseDetectorDistiller`.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmkd.losses.sigmoid_categorical import (SIGMOID_CATEGORICAL_MODES,
                                             sigmoid_to_categorical_logits)
from mmkd.registry import MODELS
from .base_distiller import LossValue
from .detector_distiller_base import (BaseDetectorDistiller, WithSkipped,
                                      detector_kind)

__all__ = [
    'SingleStageDistiller', 'SINGLE_STAGE_SOURCES', 'dense_prior_labels',
    'flatten_dense', 'gt_region_masks'
]

#: Sources a distillation term can read, with what the loss receives.
SINGLE_STAGE_SOURCES = {
    'dense_cls': 'class logits of student and teacher at the same priors, '
    'flattened over images and levels and converted from C sigmoid logits '
    'to C + 1 categorical logits (background last; key `categorical`), at '
    "the priors chosen by `locations` ('pos', 'all' or 'teacher'), plus the "
    "student's per-prior labels (background = num_classes) for losses whose "
    'forward takes `labels`',
    'dense_box': "GFL-style box-edge distributions at the student's "
    'positive priors: bbox_pred logits reshaped to (M * 4, reg_max + 1), '
    'as LDHead does',
    'fpn': 'neck (FPN) outputs, one loss call per level, weighted sum; '
    "`region='gt'` zeroes both sides outside the ground-truth boxes",
}
#: Values of the ``locations`` key of ``'dense_cls'`` terms.
LOCATIONS = ('pos', 'all', 'teacher')
#: Default ``score_thr`` of ``locations='teacher'``.
DEFAULT_SCORE_THR = 0.3
#: Heads :func:`dense_prior_labels` supports, for messages.
SUPPORTED_LABEL_HEADS = (
    'AnchorHead subclasses that keep AnchorHead.get_targets (RetinaHead, '
    'SSDHead, ...), ATSSHead, GFLHead (and LDHead), FCOSHead, RTMDetHead '
    '(and RTMDetSepBNHead)')
#: Heads with GFL-style box distributions, for messages.
BOX_DISTRIBUTION_HEADS = ('GFLHead, LDHead and other heads with reg_max and '
                          'an Integral (integral)')


def _label_getter(head: nn.Module) -> Callable:
    """The per-prior label function of a dense head.

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
    getter = _label_getter(head)
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


@MODELS.register_module()
class SingleStageDistiller(BaseDetectorDistiller):
    """Knowledge distillation between one-stage mmdet detectors.

    For ``SingleStageDetector`` subclasses with a dense head (RetinaNet,
    GFL, FCOS, ATSS, RTMDet). The student trains with its own losses
    (logged as ``student.<mmdet key>``, computed from the same head outputs
    the terms read) plus the distillation terms (``distill.<name>``), each
    computed in float32 outside autocast; ``distill.nonfinite_teacher``
    counts the priors and FPN levels skipped because the teacher gave
    NaN/inf.

    Sources (:data:`SINGLE_STAGE_SOURCES`) and their keys:

    * ``'dense_cls'``: class logits of student and teacher at the same
      priors, ``(M, C)`` flattened over images and levels, then converted
      on both sides to ``(M, C + 1)`` categorical logits with the
      background last (:func:`~mmkd.losses.sigmoid_to_categorical_logits`,
      key ``categorical``: ``'exclusive'``, the default, is
      ``softmax([z, 0])``, the exact categorical of the head's independent
      sigmoids conditioned on at most one class being on; ``'normalized'``
      the heuristic alternative). So WKD-L with a ``(C + 1, C + 1)`` cost
      matrix (background last, as for Faster R-CNN), mmkd.KDLoss and
      mmkd.DKDLoss run unchanged. Losses whose forward takes ``labels``
      also get the student's per-prior labels (background =
      ``num_classes``), for WKD-L's target separation. Key ``locations``:

      - ``'pos'`` (default): the student's positive priors, from its head's
        own target assignment (:func:`dense_prior_labels`); the priors the
        student's classification loss pushes towards a class. The labels
        of every location mode come from that assignment, which is
        supported for RetinaNet-like anchor heads, ATSS, GFL, FCOS and
        RTMDet, whose dynamic soft-label assignment is rerun on the
        student's detached outputs as its own loss does
        (:data:`SUPPORTED_LABEL_HEADS`); other heads raise
        ``NotImplementedError`` for ``'dense_cls'``/``'dense_box'`` and
        support ``'fpn'`` only.
      - ``'teacher'``: priors where the teacher's max sigmoid score is at
        least ``score_thr`` (default 0.3): where the teacher sees an
        object, including objects near but outside the student's
        positives. 0.3 sits where trained RetinaNet/GFL teachers score
        their true detections (QFL scores are IoU-like, RetinaNet's
        focal-loss scores are low) and well above the 0.05 test-time
        threshold, so the selection stays a small multiple of the
        objects. Their labels are the student's (background where the
        student's assignment has none).
      - ``'all'``: every prior, each weighted by the teacher's max sigmoid
        score (the loss gets ``weight`` and ``avg_factor = sum of
        weights``, so the value is a weighted mean): without it the
        thousands of background priors per image, which a trained teacher
        scores near 0, would drown the objects. Needs a loss whose forward
        takes ``weight`` (mmkd.KDLoss, mmkd.WKDLogitLoss). Memory grows
        with all priors x (C + 1); mind COCO-size inputs.

    * ``'dense_box'``: GFL-style box-edge distributions at the student's
      positive priors: ``bbox_pred`` of both heads reshaped to
      ``(M * 4, reg_max + 1)`` bin logits, as ``LDHead`` does (for
      mmkd.WassersteinBoxLoss or a KL). Both heads need ``reg_max`` and an
      ``integral`` (GFLHead, LDHead) with the same ``reg_max``. Key
      ``box_weight``: ``None`` (default, plain mean over edges) or
      ``'student_score'`` (LD's weighting: each edge weighted by the
      student's max sigmoid class score at its prior, detached).

    * ``'fpn'``: the neck outputs, as in DetectionDistiller (keys
      ``levels``, ``level_weights``, ``connector``), plus ``region``:
      ``None`` (default, whole maps) or ``'gt'``: both the student's
      (after the connector) and the teacher's maps are multiplied by a
      per-level mask of the cells overlapping a ground-truth box
      (:func:`gt_region_masks`, strides from the student head's prior
      generator), so the loss still receives (N, C, H, W) maps and any
      feature loss (FitNet/MSE, WKD-F) works unchanged, but only object
      regions differ between the sides. Note what the zeros do: a mean
      reduction (MSE) averages over all cells, so the value scales with
      the object area; WKD-F's Gaussians include the zero cells on both
      sides (they match exactly), so grid cells with more object area
      weigh more. Images without boxes contribute nothing.

    Every key is checked against its source; ``connector`` applies to
    ``'fpn'`` only.

    Example::

        model = dict(
            type='mmkd.SingleStageDistiller',
            student=gfl_r18_model_dict,
            teacher='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py',
            teacher_ckpt='https://download.openmmlab.com/...pth',
            distill_losses=dict(
                loss_wkd_l=dict(type='mmkd.WKDLogitLoss', ...),
                loss_box=dict(type='mmkd.WassersteinBoxLoss'),
                loss_fpn=dict(type='mmkd.WKDFeatureLoss', grid=4)),
            distill_inputs=dict(
                loss_wkd_l=dict(source='dense_cls', locations='pos'),
                loss_box='dense_box',
                loss_fpn=dict(source='fpn', region='gt')))

    Args:
        student (dict | nn.Module): A single-stage detector with a dense
            head (and the ``train_cfg`` of its mmdet config).
        teacher (dict | str | nn.Module): Same kind of detector, or the path
            of its config (``'mmdet::...'`` works).
        teacher_ckpt (str, optional): Teacher weights.
        distill_losses (dict, optional): Term name -> loss config.
        distill_inputs (dict, optional): Term name -> a source name or a
            dict with ``source`` and the keys above, plus ``scheduled``
            (whether :meth:`set_distill_weight_scale` affects it, default
            True). Every term needs an entry.
        connectors (dict, optional): Name -> connector config.
        teacher_ckpt_strict (bool): See :class:`~mmkd.models.BaseDistiller`.
        teacher_trainable (bool): Not supported yet.
        save_teacher (bool): Keep the teacher in checkpoints.
        data_preprocessor (dict, optional): Defaults to the student's.
        init_cfg (dict, optional): Initialisation config.
    """

    SOURCES = SINGLE_STAGE_SOURCES
    TERM_KEYS = ('source', 'connector', 'levels', 'level_weights',
                 'scheduled', 'locations', 'score_thr', 'categorical',
                 'box_weight', 'region')
    #: Keys -> the sources they apply to.
    _KEY_SOURCES = dict(
        locations=('dense_cls', ),
        score_thr=('dense_cls', ),
        categorical=('dense_cls', ),
        box_weight=('dense_box', ),
        region=('fpn', ),
        connector=('fpn', ))
    NONFINITE_UNITS = 'priors/FPN levels'
    COST_LOGITS = "'dense_cls' logits (C sigmoid classes + background)"

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------
    def _check_detector_kind(self, model: nn.Module, role: str) -> None:
        """A single-stage detector with a dense head (and, for an anchor-head
        student, a ``train_cfg``)."""
        kind = detector_kind(model)
        if kind == 'two_stage':
            raise TypeError(
                f'The {role} ({type(model).__name__}) is a two-stage '
                "detector (it has a roi_head); use type='mmkd."
                "DetectionDistiller' for it. SingleStageDistiller supports "
                'single-stage detectors with a dense head (RetinaNet, GFL, '
                'FCOS, ATSS, RTMDet).')
        if kind != 'single_stage':
            raise TypeError(
                f'The {role} ({type(model).__name__}) has no dense '
                'bbox_head (an mmdet BaseDenseHead); SingleStageDistiller '
                'supports single-stage detectors with one (RetinaNet, GFL, '
                'FCOS, ATSS, RTMDet).')
        from mmdet.models.dense_heads import AnchorHead
        if role == 'student' and isinstance(model.bbox_head, AnchorHead) \
                and not model.bbox_head.train_cfg:
            # anchor heads build their assigner from it (FCOS needs none)
            raise ValueError(
                'The student has no train_cfg, so its '
                f'{type(model.bbox_head).__name__} has no assigner for its '
                'own losses; give it the train_cfg of its mmdet config '
                '(assigner, allowed_border, pos_weight).')

    def _parse_term(self, name: str, spec: dict, source: str) -> dict:
        """Locations, conversion, weights, region and FPN levels of one
        term (see :meth:`BaseDistiller._parse_distill_inputs`)."""
        fpn = self._parse_fpn_keys(name, spec, source)
        for key, sources in self._KEY_SOURCES.items():
            if spec.get(key) is not None and source not in sources:
                raise ValueError(
                    f'distill_inputs[{name!r}]: {key!r} applies to source '
                    f'{sources[0]!r}, not {source!r}.')
        locations = spec.get('locations', 'pos')
        if locations not in LOCATIONS:
            raise ValueError(
                f"distill_inputs[{name!r}]['locations'] must be one of "
                f'{LOCATIONS}, but got {locations!r}.')
        if spec.get('score_thr') is not None and locations != 'teacher':
            raise ValueError(
                f"distill_inputs[{name!r}]: 'score_thr' applies to "
                f"locations='teacher', not {locations!r}.")
        score_thr = spec.get('score_thr')
        score_thr = DEFAULT_SCORE_THR if score_thr is None else score_thr
        if isinstance(score_thr, bool) or not isinstance(
                score_thr, (int, float)) or not 0 < score_thr <= 1:
            raise ValueError(
                f"distill_inputs[{name!r}]['score_thr'] must be a number in "
                f'(0, 1] (a sigmoid score), but got {score_thr!r}.')
        categorical = spec.get('categorical', 'exclusive')
        if categorical not in SIGMOID_CATEGORICAL_MODES:
            raise ValueError(
                f"distill_inputs[{name!r}]['categorical'] must be one of "
                f'{SIGMOID_CATEGORICAL_MODES}, but got {categorical!r}.')
        box_weight = spec.get('box_weight')
        if box_weight not in (None, 'student_score'):
            raise ValueError(
                f"distill_inputs[{name!r}]['box_weight'] must be None or "
                f"'student_score', but got {box_weight!r}.")
        region = spec.get('region')
        if region not in (None, 'gt'):
            raise ValueError(
                f"distill_inputs[{name!r}]['region'] must be None or 'gt', "
                f'but got {region!r}.')
        if source == 'dense_cls' and locations == 'all':
            self._check_weighted_loss(name, "locations='all'")
        if box_weight is not None:
            self._check_weighted_loss(name, "box_weight='student_score'")
        return dict(
            fpn,
            locations=locations,
            score_thr=float(score_thr),
            categorical=categorical,
            box_weight=box_weight,
            region=region)

    @property
    def num_classes(self) -> int:
        """Foreground classes of the student's dense head."""
        return self.student.bbox_head.num_classes

    def _cost_matrix_hint(self, shape: Tuple[int, ...]) -> str:
        n = self.num_classes + 1
        if shape == (n - 1, n - 1):
            return (" It looks like a matrix without the background class; "
                    "'dense_cls' logits get a background column (the last) "
                    'from the categorical conversion, so the matrix needs '
                    'one too.')
        return ''

    def _check_compatibility(self) -> None:
        """Teacher vs student for every term (classes, priors, sigmoid
        outputs, box distributions, FPN levels, widths, cost matrices)."""
        s_head = self.student.bbox_head
        t_head = self.teacher.bbox_head
        for name, term in self.distill_inputs.items():
            source = term['source']
            if source in ('dense_cls', 'dense_box'):
                _label_getter(s_head)  # raises for unsupported heads
                self._check_priors(name, source, s_head, t_head)
            if source == 'dense_cls':
                self._check_num_classes(name, source, s_head.num_classes,
                                        t_head.num_classes,
                                        'dense class outputs')
                for role, head in (('student', s_head), ('teacher',
                                                         t_head)):
                    if not getattr(head, 'use_sigmoid_cls', False):
                        raise ValueError(
                            f"Term {name!r} ('dense_cls') converts sigmoid "
                            f'class logits, but the {role} head '
                            f'{type(head).__name__} has softmax outputs '
                            '(use_sigmoid_cls=False); use sigmoid heads '
                            '(RetinaNet, GFL, FCOS, ATSS, RTMDet).')
                self._check_cost_matrix_of(name)
            if source == 'dense_box':
                self._check_box_heads(name, s_head, t_head)
            if source == 'fpn':
                self._check_fpn_term(name, term)
                n_levels = len(s_head.prior_generator.strides)
                n_outs = getattr(self.student.neck, 'num_outs', n_levels)
                if term['region'] == 'gt' and n_levels != n_outs:
                    raise ValueError(
                        f"Term {name!r}: region='gt' takes the level "
                        "strides from the student head's prior generator "
                        f'({n_levels} levels), but the neck has {n_outs} '
                        'outputs.')

    def _check_priors(self, name: str, source: str, s_head: nn.Module,
                      t_head: nn.Module) -> None:
        """Both heads must place the same priors at the same places."""
        s_spec, t_spec = prior_spec(s_head), prior_spec(t_head)
        if s_spec == t_spec:
            return
        diff = [
            f'{key}: student {s_spec.get(key)!r} vs teacher '
            f'{t_spec.get(key)!r}' for key in sorted(set(s_spec) | set(t_spec))
            if s_spec.get(key) != t_spec.get(key)
        ]
        raise ValueError(
            f'Term {name!r} ({source}) compares the heads at the same '
            'priors, but their prior generators differ: ' + '; '.join(diff) +
            ". Give the student the teacher's anchor_generator/"
            'prior_generator settings (strides, octave_base_scale, '
            'scales_per_octave, ratios).')

    def _check_box_heads(self, name: str, s_head: nn.Module,
                         t_head: nn.Module) -> None:
        """Both heads need box-edge distributions over the same bins."""
        for role, head in (('student', s_head), ('teacher', t_head)):
            if getattr(head, 'reg_max', None) is None or \
                    getattr(head, 'integral', None) is None:
                raise ValueError(
                    f"Term {name!r} ('dense_box') reads GFL-style box-edge "
                    f'distributions, but the {role} head '
                    f'{type(head).__name__} has none; heads that have them: '
                    f'{BOX_DISTRIBUTION_HEADS}.')
        if s_head.reg_max != t_head.reg_max:
            raise ValueError(
                f"Term {name!r} ('dense_box'): the student head has "
                f'reg_max={s_head.reg_max} and the teacher '
                f'reg_max={t_head.reg_max}; set the student\'s '
                f'bbox_head.reg_max to {t_head.reg_max}, as the teacher.')

    @staticmethod
    def _check_featmaps(s_maps: Sequence[Tensor],
                        t_maps: Sequence[Tensor]) -> None:
        """Same number and sizes of head feature maps (runtime)."""
        s_sizes = [tuple(m.shape[-2:]) for m in s_maps]
        t_sizes = [tuple(m.shape[-2:]) for m in t_maps]
        if s_sizes != t_sizes:
            raise ValueError(
                f"The student head's feature maps are {s_sizes} and the "
                f"teacher's {t_sizes}; dense terms compare both at the same "
                'priors, so both necks must give the same levels (check '
                'start_level, num_outs and add_extra_convs).')

    # ------------------------------------------------------------------
    # the forward pass
    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: list) -> dict:
        """Student losses (``student.*``) and distillation terms
        (``distill.*``) for one batch.

        The student's head runs once; its outputs give both its own losses
        (``bbox_head.loss_by_feat``, as ``BaseDenseHead.loss``) and the
        distillation terms.
        """
        from mmdet.models.utils import unpack_gt_instances
        x_s = self.student.extract_feat(inputs)
        head = self.student.bbox_head
        outs = head(x_s)
        gts, gts_ignore, metas = unpack_gt_instances(data_samples)
        student_losses = head.loss_by_feat(*(outs + (gts, metas,
                                                     gts_ignore)))
        losses = self.add_prefix(student_losses, 'student.')
        losses.update(
            self.add_prefix(
                self.distill_step(inputs, x_s, outs, gts, metas, gts_ignore),
                'distill.'))
        return losses

    def distill_step(self,
                     inputs: Tensor,
                     x_s: Sequence[Tensor],
                     outs: tuple,
                     batch_gt_instances: list,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: Optional[list] = None
                     ) -> dict:
        """Run the teacher and compute every distillation term.

        Args:
            inputs (Tensor): The preprocessed batch (N, 3, H, W).
            x_s (Sequence[Tensor]): Student neck outputs.
            outs (tuple): The student head's outputs (``cls_scores``,
                ``bbox_preds``, ...), per level.
            batch_gt_instances (list[InstanceData]): Ground truth per image.
            batch_img_metas (list[dict]): Image metas.
            batch_gt_instances_ignore (list[InstanceData], optional):
                Ignored boxes per image. Defaults to None.

        Returns:
            dict: Term name (or the keys of a dict-valued loss) -> value,
            plus ``nonfinite_teacher`` (count of skipped priors and
            levels).
        """
        if not self.distill_losses:
            return {}
        sources = {t['source'] for t in self.distill_inputs.values()}
        s_head, t_head = self.student.bbox_head, self.teacher.bbox_head
        device = x_s[0].device
        featmap_sizes = [m.shape[-2:] for m in outs[0]]
        student_flat: Dict[str, Tensor] = {}

        def flat(key: str) -> Tensor:
            # the student outputs as (N, P, width), built once per step
            if key not in student_flat:
                student_flat[key] = (
                    flatten_dense(outs[0], s_head.cls_out_channels)
                    if key == 'cls' else flatten_dense(
                        outs[1], 4 * (s_head.reg_max + 1)))
            return student_flat[key]

        def run_teacher(t_inputs: Tensor) -> WithSkipped:
            x_t = self.teacher.extract_feat(t_inputs)
            out = dict(x_t=x_t if 'fpn' in sources else None)
            if not sources & {'dense_cls', 'dense_box'}:
                return out, 0
            t_outs = t_head(x_t)
            self._check_featmaps(outs[0], t_outs[0])
            valid = None
            if 'dense_cls' in sources:
                out['cls'] = flatten_dense(t_outs[0], t_head.cls_out_channels)
                # a row sum is finite iff the row is
                valid = torch.isfinite(out['cls'].sum(-1))
            if 'dense_box' in sources:
                out['box'] = flatten_dense(t_outs[1],
                                           4 * (t_head.reg_max + 1))
                finite = torch.isfinite(out['box'].sum(-1))
                valid = finite if valid is None else valid & finite
            out['valid'] = valid
            out['labels'] = dense_prior_labels(
                s_head, featmap_sizes, batch_gt_instances, batch_img_metas,
                batch_gt_instances_ignore, device, preds=outs)
            return out, int((~valid).sum())

        masks: List[Optional[List[Tensor]]] = [None]

        def term_value(name: str, term: dict, teacher: dict) -> WithSkipped:
            source = term['source']
            if source == 'fpn':
                if term['region'] == 'gt' and masks[0] is None:
                    masks[0] = gt_region_masks(
                        [x.shape[-2:] for x in x_s],
                        s_head.prior_generator.strides, batch_gt_instances,
                        device)
                return self._fpn_term(
                    name, term, x_s, teacher['x_t'],
                    masks[0] if term['region'] == 'gt' else None)
            if source == 'dense_cls':
                return self._dense_cls_term(name, term, flat('cls'),
                                            teacher), 0
            weights = flat('cls') if term['box_weight'] else None
            return self._dense_box_term(name, term, flat('box'), weights,
                                        teacher), 0

        return self._detector_terms(inputs, x_s[0], run_teacher, term_value)

    def _positives(self, labels: Tensor) -> Tensor:
        """Mask of the priors assigned a foreground class."""
        return (labels >= 0) & (labels < self.num_classes)

    def _dense_cls_term(self, name: str, term: dict, s_cls: Tensor,
                        teacher: dict) -> LossValue:
        """``'dense_cls'``: select the priors, convert both sides to
        categorical logits, call the loss (weighted for ``'all'``)."""
        t_cls, labels, valid = teacher['cls'], teacher['labels'], \
            teacher['valid']
        locations = term['locations']
        score = None
        if locations == 'pos':
            select = valid & self._positives(labels)
        else:
            # the teacher's foreground confidence; NaN rows are not valid
            score = t_cls.float().sigmoid().amax(-1)
            select = valid if locations == 'all' else valid & (
                score >= term['score_thr'])
        if not bool(select.any()):
            return self._zero(s_cls, None)
        mode = term['categorical']
        s = sigmoid_to_categorical_logits(s_cls[select].float(), mode)
        t = sigmoid_to_categorical_logits(t_cls[select].float(), mode)
        weight = score[select] if locations == 'all' else None
        return self._call_loss_weighted(name, s, t, labels[select], weight)

    def _dense_box_term(self, name: str, term: dict, s_box: Tensor,
                        s_cls: Optional[Tensor], teacher: dict) -> LossValue:
        """``'dense_box'``: the box-edge bin logits of the positive priors,
        ``(M * 4, reg_max + 1)`` on both sides."""
        select = teacher['valid'] & self._positives(teacher['labels'])
        if not bool(select.any()):
            return self._zero(s_box, None)
        bins = self.student.bbox_head.reg_max + 1
        s = s_box[select].float().reshape(-1, bins)
        t = teacher['box'][select].float().reshape(-1, bins)
        weight = None
        if term['box_weight'] == 'student_score':
            # LD's weight: the student's (detached) max class score, one per
            # prior, repeated for its 4 edges
            weight = s_cls[select].detach().float().sigmoid().amax(-1)
            weight = weight.repeat_interleave(4)
        return self._call_loss_weighted(name, s, t, None, weight)
