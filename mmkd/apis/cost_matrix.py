# Copyright (c) OpenMMLab. All rights reserved.
"""The WKD-L cost matrix of any teacher: the builder its kind takes.

:func:`build_teacher_cost_matrix` (what ``CostMatrixHook`` and
``tools/build_cost_matrix.py`` call) picks the builder from the teacher's
kind: :mod:`~mmkd.apis.det_cost_matrix` for a two-stage detector,
:mod:`~mmkd.apis.dense_cost_matrix` for a one-stage one (both background
last), :mod:`~mmkd.apis.cls_cost_matrix` for a classifier. Files are written
and read by :mod:`~mmkd.apis.cost_io`.
"""
from typing import Iterable, List, Optional, Sequence, Tuple

import torch.nn as nn
from torch import Tensor

from .cls_cost_matrix import build_classification_cost_matrix
from .collect import Preprocess
from .cost_record import teacher_kind
from .dense_cost_matrix import build_dense_cost_matrix
from .det_cost_matrix import build_detection_cost_matrix

__all__ = ['build_teacher_cost_matrix', 'cost_matrix_names']


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
        source (str): ``'logits'``, ``'pre_logits'`` or ``'feature'``
            (classifiers only,
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
    common = dict(
        kappa=kappa,
        num_per_class=num_per_class,
        max_batches=max_batches,
        progress=progress,
        class_names=classes,
        preprocess=preprocess)
    kind = teacher_kind(teacher)
    if kind == 'classifier':
        cost = build_classification_cost_matrix(
            teacher, dataloader, source=source, **common)
    else:
        build = (build_detection_cost_matrix
                 if kind == 'two_stage' else build_dense_cost_matrix)
        cost = build(
            teacher, dataloader, bg_per_image=bg_per_image, seed=seed,
            **common)
    return cost, cost_matrix_names(teacher, classes)


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
