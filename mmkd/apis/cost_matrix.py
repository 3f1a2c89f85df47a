# Copyright (c) OpenMMLab. All rights reserved.
"""Build WKD-L cost matrices from a trained teacher (category interrelations).

For a two-stage detector the features of class ``c`` are the teacher's RoI
box-head shared-FC outputs (the input of ``fc_cls``, captured with a forward
*pre*-hook because ``shared_fcs`` outputs are ReLU'd in place) for the
ground-truth boxes of class ``c``; background RoIs (proposals that overlap no
ground truth) form the extra class ``num_classes``, the last logit column.

For a one-stage detector (a dense head: RetinaNet, GFL, ATSS, FCOS) they are
the teacher head's classification-branch features (the output of its cls
tower, i.e. the input of ``retina_cls``/``gfl_cls``/``atss_cls``/
``conv_cls``) at the priors the head's own target assignment makes positive
for class ``c`` (:func:`collect_dense_class_features`); background rows come
from locations the assignment leaves negative and that overlap no ground
truth.

Every class gets the same number ``b`` of rows (truncated to the smallest
class, rows are paired by index), then ``cka_cost_matrix`` turns them into
``C_ij = 1 - exp(-kappa * (1 - CKA(X_i, X_j)))`` (methods.md section 1).
:func:`build_teacher_cost_matrix` picks the path from the teacher's kind.
"""
import contextlib
import os
import os.path as osp
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple)

import torch
import torch.nn as nn
from torch import Tensor

from .class_rows import ClassRows, class_names_of, cka_cost_on_main_process
from .cost_record import teacher_kind

__all__ = [
    'collect_detection_class_features', 'build_detection_cost_matrix',
    'collect_dense_class_features', 'build_dense_cost_matrix',
    'dense_class_rows', 'dense_cls_conv', 'teacher_kind',
    'build_teacher_cost_matrix', 'save_cost_matrix', 'load_cost_matrix',
    'load_cost_matrix_and_record', 'off_diagonal_range', 'plot_cost_matrix',
    'ClassRows', 'class_names_of', 'Preprocess'
]

#: Turns a dataloader batch into the teacher's model inputs
#: (``dict(inputs=..., data_samples=...)``).
Preprocess = Callable[[dict], dict]


def _gt_boxes(data_sample) -> tuple:
    from mmdet.structures.bbox import get_box_tensor
    gt = data_sample.gt_instances
    return get_box_tensor(gt.bboxes), gt.labels


def _check_counts(num_per_class: int, bg_per_image: int) -> None:
    for arg, value in (('num_per_class', num_per_class), ('bg_per_image',
                                                          bg_per_image)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'{arg} must be a positive int, got {value!r}.')


@contextlib.contextmanager
def _eval_capturing_inputs(detector: nn.Module, module: nn.Module,
                           flatten: bool) -> Iterator[List[Tensor]]:
    """Put ``detector`` in eval mode and record what ``module`` (or each
    module of an ``nn.ModuleList``) receives.

    Yields the list the forward pre-hook appends to: ``module``'s first
    input, detached, float32 (flattened to ``(N, -1)`` and copied with
    ``flatten``). The hook is removed and the mode restored on exit.
    """
    captured: List[Tensor] = []

    def pre_hook(mod, args):
        x = args[0].detach().float()
        captured.append(x.flatten(1).clone() if flatten else x)

    was_training = detector.training
    detector.eval()
    # a ModuleList (one conv per level) records its convs in call order
    modules = module if isinstance(module, nn.ModuleList) else [module]
    handles = [m.register_forward_pre_hook(pre_hook) for m in modules]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()
        detector.train(was_training)


def _own_preprocess(detector: nn.Module,
                    preprocess: Optional[Preprocess]) -> Preprocess:
    """``preprocess``, or the detector's own ``data_preprocessor``."""
    if preprocess is not None:
        return preprocess
    return lambda data: detector.data_preprocessor(data, False)


@torch.no_grad()
def collect_detection_class_features(
        detector: nn.Module,
        dataloader: Iterable,
        num_per_class: int = 100,
        bg_per_image: int = 16,
        bg_iou_thr: float = 0.3,
        max_batches: Optional[int] = None,
        seed: int = 0,
        progress: bool = True,
        class_names: Optional[Sequence[str]] = None,
        preprocess: Optional[Preprocess] = None) -> Tensor:
    """Per-class penultimate RoI features of a two-stage detector.

    Under distributed training every rank must call it: each reads its own
    shard and the rows of all ranks are gathered (see
    :class:`~mmkd.apis.class_rows.ClassRows`).

    Args:
        detector (nn.Module): A trained mmdet two-stage detector (run in eval
            mode).
        dataloader (Iterable): Batches with ground-truth ``gt_instances``
            (a train or val dataloader of the detector's dataset).
        num_per_class (int): Rows to collect per class (stop early once every
            class has them). Defaults to 100.
        bg_per_image (int): Background RoIs drawn per image among the RPN
            proposals whose IoU with every ground truth is below
            ``bg_iou_thr``. Defaults to 16.
        bg_iou_thr (float): Defaults to 0.3.
        max_batches (int, optional): Stop after this many batches.
        seed (int): Seed of the background draw. Defaults to 0.
        progress (bool): Show mmengine's progress bar. Defaults to True.
        class_names (Sequence[str], optional): Names for error messages.
        preprocess (callable, optional): Batch -> the detector's inputs.
            Defaults to the detector's own ``data_preprocessor``; a
            distiller passes :meth:`~mmkd.models.BaseDistiller.teacher_data`
            so that the teacher sees what training feeds it.

    Returns:
        Tensor: ``(num_classes + 1, b, d)`` float32, ``b`` the smallest
        per-class count (at most ``num_per_class``), background last.

    Raises:
        ValueError: If a class got no (or one) sample, naming the classes.
    """
    from mmdet.structures.bbox import bbox2roi, bbox_overlaps

    from mmkd.models.distillers.detection_distiller import DetectionDistiller

    _check_counts(num_per_class, bg_per_image)
    roi_head = getattr(detector, 'roi_head', None)
    bbox_head = getattr(roi_head, 'bbox_head', None)
    fc_cls = getattr(bbox_head, 'fc_cls', None)
    if not isinstance(fc_cls, nn.Module):
        raise TypeError(
            f'{type(detector).__name__} has no roi_head.bbox_head.fc_cls; the '
            'detection cost matrix needs a two-stage detector with a '
            'classification FC (e.g. Faster R-CNN).')
    num_classes = bbox_head.num_classes
    rows = ClassRows(
        class_names_of(class_names, num_classes) + ['background'],
        num_per_class)
    preprocess = _own_preprocess(detector, preprocess)
    generator = torch.Generator().manual_seed(seed)
    with _eval_capturing_inputs(detector, fc_cls, flatten=True) as captured:
        for data in rows.batches(dataloader, max_batches, progress):
            data = preprocess(data)
            inputs, samples = data['inputs'], data['data_samples']
            x = detector.extract_feat(inputs)
            proposals = detector.rpn_head.predict(x, samples, rescale=False)
            boxes, labels = [], []
            for sample, props in zip(samples, proposals):
                gt_boxes, gt_labels = _gt_boxes(sample)
                cand = props.bboxes
                if gt_boxes.numel() and cand.numel():
                    iou = bbox_overlaps(cand, gt_boxes).max(dim=1).values
                    cand = cand[iou < bg_iou_thr]
                if rows.counts[num_classes] < num_per_class and \
                        cand.size(0):
                    pick = torch.randperm(
                        cand.size(0), generator=generator)[:bg_per_image]
                    cand = cand[pick.to(cand.device)]
                else:
                    cand = cand[:0]
                boxes.append(torch.cat([gt_boxes, cand], 0))
                labels.append(
                    torch.cat([
                        gt_labels.to(torch.long),
                        gt_labels.new_full((cand.size(0), ), num_classes,
                                           dtype=torch.long)
                    ]))
            labels_all = torch.cat(labels)
            if labels_all.numel():
                captured.clear()
                DetectionDistiller.roi_forward(roi_head, x, bbox2roi(boxes))
                rows.add(captured[-1].cpu(), labels_all.cpu())
    return rows.stack('Each class (and background) needs at least 2 RoIs; '
                      'use more images (max_batches) or the training split.')


def build_detection_cost_matrix(detector: nn.Module,
                                dataloader: Iterable,
                                kappa: float = 1.0,
                                **kwargs) -> Tensor:
    """Collect class features (see :func:`collect_detection_class_features`,
    whose keyword arguments pass through) and return the CKA cost matrix
    ``(num_classes + 1, num_classes + 1)``."""
    features = collect_detection_class_features(detector, dataloader,
                                                **kwargs)
    return cka_cost_on_main_process(features, kappa)


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
    from mmdet.models.dense_heads import AnchorHead
    from mmdet.models.utils import unpack_gt_instances

    from mmkd.models.distillers.single_stage_distiller import (
        _label_getter, dense_prior_labels, gt_region_masks)

    _check_counts(num_per_class, bg_per_image)
    if teacher_kind(detector) != 'single_stage':
        raise TypeError(
            f'{type(detector).__name__} is not a one-stage detector with a '
            'dense bbox_head; collect_dense_class_features needs one '
            '(RetinaNet, GFL, ATSS, FCOS, RTMDet). Use '
            'build_teacher_cost_matrix, which picks the path from the '
            'teacher.')
    head = detector.bbox_head
    conv_name, conv = dense_cls_conv(head)
    _label_getter(head)  # NotImplementedError for unsupported heads
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
    preprocess = _own_preprocess(detector, preprocess)
    generator = torch.Generator().manual_seed(seed)
    with _eval_capturing_inputs(detector, conv, flatten=False) as captured:
        for data in rows.batches(dataloader, max_batches, progress):
            data = preprocess(data)
            inputs, samples = data['inputs'], data['data_samples']
            gts, gts_ignore, metas = unpack_gt_instances(samples)
            captured.clear()
            outs = head(detector.extract_feat(inputs))
            feats = list(captured)
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


def build_teacher_cost_matrix(
        teacher: nn.Module,
        dataloader: Iterable,
        kappa: float = 1.0,
        num_per_class: int = 100,
        max_batches: Optional[int] = None,
        class_names: Optional[Sequence[str]] = None,
        bg_per_image: int = 16,
        seed: int = 0,
        source: str = 'logits',
        progress: bool = True,
        preprocess: Optional[Preprocess] = None
) -> Tuple[Tensor, Optional[List[str]]]:
    """The WKD-L cost matrix of a detector or a classifier teacher.

    The path follows the teacher's kind
    (:func:`~mmkd.apis.cost_record.teacher_kind`): a two-stage detector (a
    ``roi_head``) goes to :func:`build_detection_cost_matrix`, a one-stage
    detector (a dense ``bbox_head``) to :func:`build_dense_cost_matrix`
    (both background last), anything else to
    :func:`~mmkd.apis.build_classification_cost_matrix`. Under distributed
    training every rank calls it with its own shard and gets the same
    matrix (computed once, on the main process, and broadcast).

    Args:
        teacher (nn.Module): A trained two-stage or one-stage mmdet
            detector, or an mmpretrain ``ImageClassifier``.
        dataloader (Iterable): Labelled batches of the teacher's dataset.
        kappa (float): Sharpening. Defaults to 1.0.
        num_per_class (int): Samples per class. Defaults to 100.
        max_batches (int, optional): Limit on the batches read.
        class_names (Sequence[str], optional): The dataset's classes.
        bg_per_image (int): Background RoIs (two-stage) or locations
            (one-stage) per image (detectors only). Defaults to 16.
        seed (int): Seed of the background draw (detectors only).
            Defaults to 0.
        source (str): ``'logits'`` or ``'pre_logits'`` (classifiers only,
            see :func:`~mmkd.apis.collect_classification_class_features`;
            two-stage detectors use the RoI head's penultimate features,
            one-stage ones their head's classification-branch features).
            Defaults to ``'logits'``.
        progress (bool): Show a progress bar. Defaults to True.
        preprocess (callable, optional): Batch -> the teacher's inputs.
            Defaults to the teacher's own ``data_preprocessor``.

    Returns:
        tuple[torch.Tensor, list[str] | None]: The cost matrix and the names
        of its rows (``'background'`` last for detectors), None without
        ``class_names``.
    """
    classes = list(class_names) if class_names else None
    names = cost_matrix_names(teacher, classes)
    kind = teacher_kind(teacher)
    if kind in ('two_stage', 'single_stage'):
        build = (build_detection_cost_matrix
                 if kind == 'two_stage' else build_dense_cost_matrix)
        cost = build(
            teacher,
            dataloader,
            kappa=kappa,
            num_per_class=num_per_class,
            bg_per_image=bg_per_image,
            max_batches=max_batches,
            seed=seed,
            progress=progress,
            class_names=classes,
            preprocess=preprocess)
        return cost, names
    from .cls_cost_matrix import build_classification_cost_matrix
    cost = build_classification_cost_matrix(
        teacher,
        dataloader,
        kappa=kappa,
        num_per_class=num_per_class,
        max_batches=max_batches,
        progress=progress,
        class_names=classes,
        source=source,
        preprocess=preprocess)
    return cost, names


def cost_matrix_names(teacher: nn.Module,
                      class_names: Optional[Sequence[str]]
                      ) -> Optional[List[str]]:
    """The names of a teacher's cost-matrix rows: the classes, plus
    ``'background'`` last for a (two- or one-stage) detector; None without
    class names."""
    if not class_names:
        return None
    names = list(class_names)
    if teacher_kind(teacher) != 'classifier':
        names.append('background')
    return names


def off_diagonal_range(cost: Tensor) -> Tuple[float, float]:
    """The smallest and largest off-diagonal entries of a square matrix.

    A CKA cost matrix has a zero diagonal and off-diagonal entries in a
    narrow band (about 0.45-0.6 on the toy digits); a colour scale over
    ``[0, max]`` paints that band one colour, so the heatmap uses this one.
    """
    n = cost.shape[0]
    if n < 2:
        value = float(cost.max()) if cost.numel() else 0.0
        return value, value
    off = cost[~torch.eye(n, dtype=torch.bool, device=cost.device)]
    return float(off.min()), float(off.max())


def plot_cost_matrix(cost: Tensor,
                     out_file: str,
                     class_names: Optional[Sequence[str]] = None,
                     title: Optional[str] = None,
                     ax=None) -> str:
    """Save a heatmap PNG of a cost matrix (matplotlib, Agg backend).

    The colour scale spans the off-diagonal entries
    (:func:`off_diagonal_range`) and the diagonal is drawn blank, so the
    category interrelations show; up to 15 classes print their values.

    Args:
        cost (Tensor): The ``(n, n)`` matrix.
        out_file (str): The PNG to write (ignored when ``ax`` is given).
        class_names (Sequence[str], optional): Row/column labels.
        title (str, optional): Defaults to ``'WKD-L cost matrix (n x n)'``.
        ax (matplotlib.axes.Axes, optional): Draw into this axes instead of
            a new figure (nothing is saved). Defaults to None.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    if ax is None:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    values = cost.detach().cpu().double()
    n = values.shape[0]
    low, high = off_diagonal_range(values)
    shown = np.ma.masked_array(values.numpy(), mask=np.eye(n, dtype=bool))
    fig = None
    if ax is None:
        size = max(4.0, min(16.0, 0.45 * n + 2))
        fig, ax = plt.subplots(figsize=(size + 1, size))
    cmap = matplotlib.colormaps['viridis'].copy()
    cmap.set_bad('white')
    image = ax.imshow(shown, cmap=cmap, vmin=low, vmax=max(high, low + 1e-9))
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                       label='cost (off-diagonal range; diagonal 0)')
    if n <= 15:
        mid = (low + high) / 2
        for i in range(n):
            for j in range(n):
                if i != j:
                    ax.text(j, i, f'{values[i, j]:.2f}', ha='center',
                            va='center', fontsize=6,
                            color='black' if values[i, j] > mid else 'white')
    if class_names is not None and n <= 40:
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xticklabels(class_names, rotation=90, fontsize=7)
        ax.set_yticklabels(class_names, fontsize=7)
    ax.set_title(title or f'WKD-L cost matrix ({n} x {n})')
    if fig is not None:
        fig.tight_layout()
        fig.savefig(out_file, dpi=100)
        plt.close(fig)
    return out_file


def _replace_atomically(out_file: str, write: Callable[[str], Any]) -> None:
    """``write(tmp)`` beside ``out_file``, then rename it over ``out_file``:
    a reader (another job, a killed run) sees the old file or the whole new
    one, never half of it."""
    directory, name = osp.split(osp.abspath(out_file))
    stem, ext = osp.splitext(name)
    # same folder (rename is atomic within a file system), same extension
    # (matplotlib picks the format from it)
    tmp = osp.join(directory, f'.{stem}.{os.getpid()}.tmp{ext}')
    try:
        write(tmp)
        os.replace(tmp, out_file)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def save_cost_matrix(cost: Tensor,
                     out_file: str,
                     class_names: Optional[Sequence[str]] = None,
                     heatmap: bool = True,
                     record: Optional[Dict[str, Any]] = None) -> List[str]:
    """Write the matrix (``torch.save``) and, with ``heatmap``, a PNG beside
    it (same name, ``.png``), each atomically (temporary file + rename).

    Args:
        cost (Tensor): The square matrix.
        out_file (str): A ``.pth`` / ``.pt`` path.
        class_names (Sequence[str], optional): Row names for the heatmap.
        heatmap (bool): Also write the PNG. Defaults to True.
        record (dict, optional): What the matrix was built from
            (:func:`~mmkd.apis.cost_record.cost_matrix_record`). With it the
            file holds ``{'cost_matrix': tensor, 'record': record}``,
            otherwise the plain float32 tensor.

    Returns:
        list[str]: The files written.
    """
    if cost.dim() != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(
            f'A cost matrix is square, got shape {tuple(cost.shape)}.')
    if osp.splitext(out_file)[1].lower() not in ('.pth', '.pt'):
        raise ValueError(
            f'The cost matrix file {out_file!r} is written with torch.save; '
            "give it a '.pth' (or '.pt') name so that it can be loaded.")
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    matrix = cost.detach().cpu().float().contiguous()
    payload = matrix if record is None else dict(
        cost_matrix=matrix, record=dict(record))
    _replace_atomically(out_file, lambda tmp: torch.save(payload, tmp))
    written = [out_file]
    if heatmap:
        png = osp.splitext(out_file)[0] + '.png'
        _replace_atomically(
            png, lambda tmp: plot_cost_matrix(cost, tmp, class_names))
        written.append(png)
    return written


def load_cost_matrix_and_record(
        path: str) -> Tuple[Tensor, Optional[Dict[str, Any]]]:
    """A cost file's matrix (validated, float32, CPU) and its record (None
    for files without one, such as the official ``.pth`` files)."""
    from mmkd.losses import load_cost_matrix as _load
    if osp.splitext(path)[1].lower() in ('.pth', '.pt') and osp.isfile(path):
        loaded = torch.load(path, map_location='cpu', weights_only=True)
        if isinstance(loaded, dict) and 'cost_matrix' in loaded:
            return _load(loaded['cost_matrix']).float(), loaded.get('record')
        return _load(loaded).float(), None
    return _load(path).float(), None


def load_cost_matrix(path: str) -> Tensor:
    """Load a cost matrix written by :func:`save_cost_matrix` (``.pth``) or a
    numpy ``.npy`` file, validated by :func:`mmkd.losses.load_cost_matrix`
    (square, finite, non-negative), as float32 on the CPU."""
    return load_cost_matrix_and_record(path)[0]
