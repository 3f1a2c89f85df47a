# Copyright (c) OpenMMLab. All rights reserved.
"""WKD-L cost matrices of one-stage detectors (a dense head: RetinaNet, GFL,
ATSS, FCOS, RTMDet).

The features of class ``c`` are the teacher head's classification-branch
features (the output of its cls tower, i.e. the input of
``retina_cls``/``gfl_cls``/``atss_cls``/``conv_cls``/``rtm_cls``) at the
priors the head's own target assignment makes positive for class ``c``
(:func:`collect_dense_class_features`); background rows come from locations
the assignment leaves negative and that overlap no ground truth. The matrix
is ``(num_classes + 1)`` square, background last, as for two-stage
detectors.
"""
from typing import Iterable, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmkd.models.adapters import detector_kind
from mmkd.stack import require_detection
from .class_rows import ClassRows, class_names_of, cka_cost_on_main_process
from .collect import Preprocess, check_counts, eval_capture, own_preprocess

__all__ = [
    'DENSE_CLS_CONVS', 'dense_cls_conv', 'dense_class_rows',
    'collect_dense_class_features', 'build_dense_cost_matrix'
]


#: The classification convs of mmdet's dense heads, whose input is the
#: output of the head's cls tower (``cls_convs``): GFLHead/LDHead,
#: RetinaHead, ATSSHead, AnchorFreeHead (FCOS), RTMDetHead (one conv, or
#: one per level in RTMDetSepBNHead).
DENSE_CLS_CONVS = ('gfl_cls', 'retina_cls', 'atss_cls', 'conv_cls',
                   'rtm_cls')


def dense_cls_conv(head: nn.Module) -> Tuple[str, nn.Module]:
    """The classification conv of a dense head and its attribute name.

    Its input, at every level, is the head's classification-branch feature
    map (the cls tower's output), which the one-stage cost matrix uses.

    Args:
        head (nn.Module): An mmdet dense head.

    Returns:
        tuple[str, nn.Module]: E.g. ``('gfl_cls', head.gfl_cls)``; for
        RTMDetSepBNHead the ``nn.ModuleList`` of its per-level convs.

    Raises:
        TypeError: If the head has none of :data:`DENSE_CLS_CONVS`.
    """
    for name in DENSE_CLS_CONVS:
        conv = getattr(head, name, None)
        if isinstance(conv, nn.Conv2d) or (
                isinstance(conv, nn.ModuleList) and len(conv)
                and all(isinstance(c, nn.Conv2d) for c in conv)):
            return name, conv
    raise TypeError(
        f'{type(head).__name__} has no classification conv '
        f'({", ".join(DENSE_CLS_CONVS)}, one or one per level), so the '
        'one-stage cost matrix cannot read its classification features; '
        'supported heads: GFLHead, LDHead, RetinaHead, ATSSHead, FCOSHead, '
        'RTMDetHead. Pass a cost matrix built otherwise to the WKD-L loss '
        '(cost_matrix=...).')


def _prior_locations(featmap_sizes: Sequence[torch.Size],
                     num_base_priors: Sequence[int],
                     device: torch.device) -> Tensor:
    """Index of the location (all levels, location-major) of every prior,
    in the order of :func:`~mmkd.models.distillers.flatten_dense`."""
    index, offset = [], 0
    for (height, width), num in zip(featmap_sizes, num_base_priors):
        cells = int(height) * int(width)
        index.append(
            torch.arange(offset, offset + cells,
                         device=device).repeat_interleave(int(num)))
        offset += cells
    return torch.cat(index)


def _inside_image(featmap_sizes: Sequence[torch.Size],
                  strides: Sequence[Tuple[int, int]],
                  img_shape: Tuple[int, int],
                  device: torch.device) -> Tensor:
    """Locations (all levels) whose cell centre lies in the image, not in
    the batch padding."""
    height_img, width_img = img_shape[:2]
    inside = []
    for (height, width), (s_w, s_h) in zip(featmap_sizes, strides):
        y = (torch.arange(int(height), device=device) + 0.5) * s_h
        x = (torch.arange(int(width), device=device) + 0.5) * s_w
        inside.append(((y[:, None] < height_img) &
                       (x[None, :] < width_img)).reshape(-1))
    return torch.cat(inside)


def dense_class_rows(feats: Sequence[Tensor],
                     labels: Tensor,
                     num_classes: int,
                     num_base_priors: Sequence[int],
                     bg_masks: Optional[Sequence[Tensor]] = None,
                     inside: Optional[Sequence[Tensor]] = None,
                     bg_per_image: int = 0,
                     generator: Optional[torch.Generator] = None
                     ) -> Tuple[Tensor, Tensor]:
    """The class rows of one batch from a dense head's features and labels.

    Foreground: per image, the distinct (location, class) pairs of the
    positive priors, in location order (a RetinaNet location whose 9
    anchors are positive for one class gives one row: its anchors share the
    feature). Background: per image, ``bg_per_image`` locations drawn
    (``generator``) among those where no prior is positive, whose cell
    overlaps no ground-truth box (``bg_masks``) and whose centre is in the
    image (``inside``).

    Args:
        feats (Sequence[Tensor]): Per level the classification features
            ``(N, d, H, W)``.
        labels (Tensor): Per-prior labels ``(N, P)`` (background
            ``num_classes``), from
            :func:`~mmkd.models.distillers.dense_prior_labels`.
        num_classes (int): Foreground classes.
        num_base_priors (Sequence[int]): Priors per location, per level.
        bg_masks (Sequence[Tensor], optional): Per level ``(N, 1, H, W)``
            masks of the cells overlapping a box
            (:func:`~mmkd.models.distillers.gt_region_masks`). Needed when
            ``bg_per_image > 0``.
        inside (Sequence[Tensor], optional): Per image, a bool mask over the
            locations of all levels: cell centre inside the image. Defaults
            to every location.
        bg_per_image (int): Background locations per image. Defaults to 0.
        generator (torch.Generator, optional): The draw of the background.

    Returns:
        tuple[Tensor, Tensor]: Rows ``(R, d)`` and their labels ``(R,)``
        (background ``= num_classes``).
    """
    if bg_per_image > 0 and bg_masks is None:
        raise ValueError(
            'bg_per_image > 0 draws background locations away from the '
            'boxes; pass bg_masks (gt_region_masks of the batch).')
    num = labels.shape[0]
    sizes = [f.shape[-2:] for f in feats]
    loc_feats = torch.cat(
        [f.permute(0, 2, 3, 1).reshape(num, -1, f.shape[1]) for f in feats],
        dim=1)
    loc_of_prior = _prior_locations(sizes, num_base_priors, labels.device)
    if loc_of_prior.numel() != labels.shape[1]:
        raise ValueError(
            f'The head gave labels for {labels.shape[1]} priors per image '
            f'but its features cover {loc_of_prior.numel()} (levels {sizes} '
            f'x priors per location {list(num_base_priors)}).')
    positive = (labels >= 0) & (labels < num_classes)
    out_feats, out_labels = [], []
    for i in range(num):
        pos = positive[i].nonzero().squeeze(1)
        key = torch.unique(loc_of_prior[pos] * num_classes + labels[i, pos])
        locs = torch.div(key, num_classes, rounding_mode='floor')
        out_feats.append(loc_feats[i, locs])
        out_labels.append(key % num_classes)
        if bg_per_image <= 0:
            continue
        free = torch.ones(loc_feats.shape[1], dtype=torch.bool,
                          device=labels.device)
        free[loc_of_prior[pos]] = False
        free &= torch.cat([m[i, 0].reshape(-1) == 0 for m in bg_masks])
        if inside is not None:
            free &= inside[i]
        cand = free.nonzero().squeeze(1)
        if cand.numel():
            pick = torch.randperm(
                cand.numel(), generator=generator)[:bg_per_image]
            pick = cand[pick.to(cand.device)]
            out_feats.append(loc_feats[i, pick])
            out_labels.append(
                torch.full_like(pick, num_classes, dtype=torch.long))
    return torch.cat(out_feats), torch.cat(out_labels).long()


@torch.no_grad()
def collect_dense_class_features(
        detector: nn.Module,
        dataloader: Iterable,
        num_per_class: int = 100,
        bg_per_image: int = 16,
        max_batches: Optional[int] = None,
        seed: int = 0,
        progress: bool = True,
        class_names: Optional[Sequence[str]] = None,
        preprocess: Optional[Preprocess] = None) -> Tensor:
    """Per-class classification-branch features of a one-stage detector.

    The features are the input of the dense head's classification conv
    (:func:`dense_cls_conv`: the cls tower's output, one ``d``-vector per
    location and level), taken with a forward pre-hook while the head runs
    on the batch. Class ``c`` gets them at the priors the head's own target
    assignment (:func:`~mmkd.models.distillers.dense_prior_labels`, the
    assignment its loss uses: ATSS for GFL/ATSS, max-IoU for RetinaNet,
    points and regress ranges for FCOS) makes positive for ``c``, one row
    per distinct location and class (see :func:`dense_class_rows`). So, as
    for Faster R-CNN, the rows are what the teacher's classifier reads
    where it is trained to say ``c``. Background (the extra class
    ``num_classes``, last): ``bg_per_image`` locations per image, drawn with
    ``seed`` among those with no positive prior whose feature cell
    overlaps no ground-truth box (so none of RetinaNet's ignored near-box
    anchors) and lies in the image (not the batch padding).

    Under distributed training every rank must call it: each reads its own
    shard and the rows of all ranks are gathered (see
    :class:`~mmkd.apis.class_rows.ClassRows`).

    Args:
        detector (nn.Module): A trained mmdet one-stage detector whose head
            has a target assignment (built with its ``train_cfg``; run in
            eval mode).
        dataloader (Iterable): Batches with ground-truth ``gt_instances``.
        num_per_class (int): Rows to collect per class. Defaults to 100.
        bg_per_image (int): Background locations drawn per image. Defaults
            to 16.
        max_batches (int, optional): Stop after this many batches.
        seed (int): Seed of the background draw. Defaults to 0.
        progress (bool): Show mmengine's progress bar. Defaults to True.
        class_names (Sequence[str], optional): Names for error messages.
        preprocess (callable, optional): Batch -> the detector's inputs.
            Defaults to the detector's own ``data_preprocessor``.

    Returns:
        Tensor: ``(num_classes + 1, b, d)`` float32, ``b`` the smallest
        per-class count (at most ``num_per_class``), background last.

    Raises:
        TypeError: If the detector has no dense head with a classification
            conv.
        NotImplementedError: If the head's target assignment is not
            supported (see :data:`~mmkd.models.distillers.
            single_stage_distiller.SUPPORTED_LABEL_HEADS`).
        ValueError: If the head has no assigner (no ``train_cfg``), or a
            class got fewer than two rows (named).
    """
    require_detection('collect_dense_class_features')
    from mmdet.models.dense_heads import AnchorHead
    from mmdet.models.utils import unpack_gt_instances

    from mmkd.models.adapters import (dense_label_getter, dense_prior_labels,
                                      gt_region_masks)

    check_counts(num_per_class=num_per_class, bg_per_image=bg_per_image)
    if detector_kind(detector) != 'single_stage':
        raise TypeError(
            f'{type(detector).__name__} is not a one-stage detector with a '
            'dense bbox_head; collect_dense_class_features needs one '
            '(RetinaNet, GFL, ATSS, FCOS, RTMDet). Use '
            'build_teacher_cost_matrix, which picks the path from the '
            'teacher.')
    head = detector.bbox_head
    conv_name, conv = dense_cls_conv(head)
    dense_label_getter(head)  # NotImplementedError for unsupported heads
    if isinstance(head, AnchorHead) and getattr(head, 'assigner',
                                                None) is None:
        raise ValueError(
            f'The teacher head {type(head).__name__} has no assigner (it '
            'was built without a train_cfg), so its positive priors are '
            "unknown; build the teacher from its full mmdet config (with "
            'train_cfg).')
    num_classes = head.num_classes
    num_base_priors = list(head.prior_generator.num_base_priors)
    strides = head.prior_generator.strides
    rows = ClassRows(
        class_names_of(class_names, num_classes) + ['background'],
        num_per_class)
    preprocess = own_preprocess(detector, preprocess)
    generator = torch.Generator().manual_seed(seed)
    with eval_capture(detector, conv, flatten=False) as recorder:
        for data in rows.batches(dataloader, max_batches, progress):
            data = preprocess(data)
            inputs, samples = data['inputs'], data['data_samples']
            gts, gts_ignore, metas = unpack_gt_instances(samples)
            recorder.take('input')
            outs = head(detector.extract_feat(inputs))
            feats = recorder.take('input')
            if len(feats) != len(num_base_priors):
                raise RuntimeError(
                    f'{type(head).__name__}.{conv_name} ran '
                    f'{len(feats)} times for {len(num_base_priors)} levels; '
                    'the head must call its classification conv once per '
                    'level.')
            sizes = [f.shape[-2:] for f in feats]
            labels = dense_prior_labels(head, sizes, gts, metas, gts_ignore,
                                        inputs.device, preds=outs)
            bg = bg_per_image if rows.counts[num_classes] < \
                num_per_class else 0
            masks = inside = None
            if bg:
                masks = gt_region_masks(sizes, strides, gts, inputs.device)
                inside = [
                    _inside_image(sizes, strides, meta['img_shape'],
                                  inputs.device) for meta in metas
                ]
            feats_all, labels_all = dense_class_rows(
                feats, labels, num_classes, num_base_priors, masks, inside,
                bg, generator)
            if labels_all.numel():
                rows.add(feats_all.cpu(), labels_all.cpu())
    return rows.stack('Each class (and background) needs at least 2 '
                      'positive locations; use more images (max_batches) or '
                      'the training split.')


def build_dense_cost_matrix(detector: nn.Module,
                            dataloader: Iterable,
                            kappa: float = 1.0,
                            **kwargs) -> Tensor:
    """Collect class features (see :func:`collect_dense_class_features`,
    whose keyword arguments pass through) and return the CKA cost matrix
    ``(num_classes + 1, num_classes + 1)``, background last."""
    features = collect_dense_class_features(detector, dataloader, **kwargs)
    return cka_cost_on_main_process(features, kappa)
