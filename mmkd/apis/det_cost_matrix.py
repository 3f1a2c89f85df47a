# Copyright (c) OpenMMLab. All rights reserved.
"""WKD-L cost matrices of two-stage detectors (Faster R-CNN and relatives).

The features of class ``c`` are the teacher's RoI box-head shared-FC
outputs (the input of ``fc_cls``, captured with a forward *pre*-hook because
``shared_fcs`` outputs are ReLU'd in place) for the ground-truth boxes of
class ``c``; background RoIs (proposals that overlap no ground truth) form
the extra class ``num_classes``, the last logit column. Every class gets the
same number of rows, then ``cka_cost_matrix`` gives
``C_ij = 1 - exp(-kappa * (1 - CKA(X_i, X_j)))`` (``docs/methods.md``
section 1).
"""
from typing import Iterable, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmkd.stack import require_detection
from .class_rows import ClassRows, class_names_of, cka_cost_on_main_process
from .collect import Preprocess, check_counts, eval_capture, own_preprocess

__all__ = [
    'collect_detection_class_features', 'build_detection_cost_matrix'
]


def _gt_boxes(data_sample) -> tuple:
    from mmdet.structures.bbox import get_box_tensor
    gt = data_sample.gt_instances
    return get_box_tensor(gt.bboxes), gt.labels


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
    require_detection('collect_detection_class_features')
    from mmdet.structures.bbox import bbox2roi, bbox_overlaps

    from mmkd.models.adapters import roi_forward

    check_counts(num_per_class=num_per_class, bg_per_image=bg_per_image)
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
    preprocess = own_preprocess(detector, preprocess)
    generator = torch.Generator().manual_seed(seed)
    with eval_capture(detector, fc_cls, flatten=True) as recorder:
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
                recorder.take('input')
                roi_forward(roi_head, x, bbox2roi(boxes))
                rows.add(recorder.take('input')[-1].cpu(), labels_all.cpu())
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
