# Copyright (c) OpenMMLab. All rights reserved.
"""Build WKD-L cost matrices from a trained teacher (category interrelations).

For a two-stage detector the features of class ``c`` are the teacher's RoI
box-head shared-FC outputs (the input of ``fc_cls``, captured with a forward
*pre*-hook because ``shared_fcs`` outputs are ReLU'd in place) for the
ground-truth boxes of class ``c``; background RoIs (proposals that overlap no
ground truth) form the extra class ``num_classes``, the last logit column.
Every class gets the same number ``b`` of rows (truncated to the smallest
class, rows are paired by index), then ``cka_cost_matrix`` turns them into
``C_ij = 1 - exp(-kappa * (1 - CKA(X_i, X_j)))`` (methods.md section 1).
"""
import os
import os.path as osp
from typing import Iterable, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

__all__ = [
    'collect_detection_class_features', 'build_detection_cost_matrix',
    'save_cost_matrix', 'load_cost_matrix', 'plot_cost_matrix'
]


def _cka_cost_matrix(features: Tensor, kappa: float) -> Tensor:
    from mmkd.losses import cka_cost_matrix
    return cka_cost_matrix(features, kappa=kappa)


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
        class_names: Optional[Sequence[str]] = None) -> Tensor:
    """Per-class penultimate RoI features of a two-stage detector.

    Args:
        detector (nn.Module): A trained mmdet two-stage detector (run in eval
            mode with its own ``data_preprocessor``).
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

    Returns:
        Tensor: ``(num_classes + 1, b, d)`` float32, ``b`` the smallest
        per-class count (at most ``num_per_class``), background last.

    Raises:
        ValueError: If a class got no (or one) sample, naming the classes.
    """
    from mmdet.structures.bbox import bbox2roi, bbox_overlaps
    from mmengine.utils import ProgressBar

    from mmkd.models.distillers.detection_distiller import DetectionDistiller

    for arg, value in (('num_per_class', num_per_class), ('bg_per_image',
                                                          bg_per_image)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'{arg} must be a positive int, got {value!r}.')
    roi_head = getattr(detector, 'roi_head', None)
    bbox_head = getattr(roi_head, 'bbox_head', None)
    fc_cls = getattr(bbox_head, 'fc_cls', None)
    if not isinstance(fc_cls, nn.Module):
        raise TypeError(
            f'{type(detector).__name__} has no roi_head.bbox_head.fc_cls; the '
            'detection cost matrix needs a two-stage detector with a '
            'classification FC (e.g. Faster R-CNN).')
    num_classes = bbox_head.num_classes
    n = num_classes + 1
    names = list(class_names) if class_names is not None else [
        str(i) for i in range(num_classes)
    ]
    names = names[:num_classes] + ['background']
    store: List[List[Tensor]] = [[] for _ in range(n)]
    counts = [0] * n
    captured: List[Tensor] = []

    def pre_hook(module, args):
        captured.append(args[0].detach().flatten(1).float().clone())

    generator = torch.Generator().manual_seed(seed)
    was_training = detector.training
    detector.eval()
    handle = fc_cls.register_forward_pre_hook(pre_hook)
    total = len(dataloader) if hasattr(dataloader, '__len__') else None
    if total is not None and max_batches is not None:
        total = min(total, max_batches)
    bar = ProgressBar(total) if progress and total else None
    try:
        for i, data in enumerate(dataloader):
            if max_batches is not None and i >= max_batches:
                break
            data = detector.data_preprocessor(data, False)
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
                if counts[num_classes] < num_per_class and cand.size(0):
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
                feats = captured[-1].cpu()
                labels_all = labels_all.cpu()
                for c in labels_all.unique().tolist():
                    need = num_per_class - counts[c]
                    if need > 0:
                        rows = feats[labels_all == c][:need]
                        store[c].append(rows)
                        counts[c] += rows.size(0)
            if bar is not None:
                bar.update()
            if min(counts) >= num_per_class:
                break
    finally:
        handle.remove()
        detector.train(was_training)
        if bar is not None:
            bar.file.write('\n')
    empty = [f'{names[c]} ({counts[c]})' for c in range(n) if counts[c] < 2]
    if empty:
        raise ValueError(
            'Too few samples to build the cost matrix for classes: ' +
            ', '.join(empty) + '. Each class (and background) needs at '
            'least 2 RoIs; use more images (max_batches) or the training '
            'split.')
    b = min(counts)
    if b < num_per_class:
        print_log(
            f'Cost matrix: {b} samples per class (the smallest class; '
            f'asked for {num_per_class}).',
            logger='current')
    return torch.stack([torch.cat(rows)[:b] for rows in store])


def build_detection_cost_matrix(detector: nn.Module,
                                dataloader: Iterable,
                                kappa: float = 1.0,
                                **kwargs) -> Tensor:
    """Collect class features (see :func:`collect_detection_class_features`,
    whose keyword arguments pass through) and return the CKA cost matrix
    ``(num_classes + 1, num_classes + 1)``."""
    features = collect_detection_class_features(detector, dataloader,
                                                **kwargs)
    return _cka_cost_matrix(features.double(), kappa).float()


def plot_cost_matrix(cost: Tensor,
                     out_file: str,
                     class_names: Optional[Sequence[str]] = None,
                     title: Optional[str] = None) -> str:
    """Save a heatmap PNG of a cost matrix (matplotlib, Agg backend)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    n = cost.shape[0]
    size = max(4.0, min(16.0, 0.25 * n + 2))
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(cost.detach().cpu().float().numpy(), cmap='viridis')
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if class_names is not None and n <= 40:
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xticklabels(class_names, rotation=90, fontsize=7)
        ax.set_yticklabels(class_names, fontsize=7)
    ax.set_title(title or f'WKD-L cost matrix ({n} x {n})')
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file


def save_cost_matrix(cost: Tensor,
                     out_file: str,
                     class_names: Optional[Sequence[str]] = None,
                     heatmap: bool = True) -> List[str]:
    """Write the matrix as a plain float32 tensor (``torch.save``) and,
    with ``heatmap``, a PNG beside it (same name, ``.png``).

    Returns:
        list[str]: The files written.
    """
    if cost.dim() != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(
            f'A cost matrix is square, got shape {tuple(cost.shape)}.')
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    torch.save(cost.detach().cpu().float().contiguous(), out_file)
    written = [out_file]
    if heatmap:
        written.append(
            plot_cost_matrix(cost,
                             osp.splitext(out_file)[0] + '.png', class_names))
    return written


def load_cost_matrix(path: str) -> Tensor:
    """Load a cost matrix written by :func:`save_cost_matrix` (``.pth``) or a
    numpy ``.npy`` file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Cost matrix file {path!r} does not exist.')
    if path.endswith('.npy'):
        import numpy as np
        cost = torch.from_numpy(np.load(path))
    else:
        cost = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(cost, dict):
        raise ValueError(f'{path!r} holds a dict, not a cost-matrix tensor.')
    return cost.float()
