# Copyright (c) OpenMMLab. All rights reserved.
"""WKD-L cost matrices of image classifiers (category interrelations).

For an mmpretrain ``ImageClassifier`` teacher, the features of class ``c``
are the teacher's outputs on images of class ``c``: its logits (what the
official ImageNet matrices use) or its penultimate features (the input of
the head's final FC, what the paper describes; ``head.pre_logits``). Every
class gets the same number ``b`` of rows, truncated to the smallest class,
because rows of different classes are paired by index; ``cka_cost_matrix``
then gives ``C_ij = 1 - exp(-kappa * (1 - CKA(X_i, X_j)))``
(``docs/methods.md`` section 1). The released official matrices hold
``1 - CKA``; :func:`~mmkd.apis.cost_io.load_official_cost_matrix` reads and
sharpens them.
"""
from typing import Iterable, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmkd.models.adapters.feature_map import map_recorder, recorded_maps
from mmkd.utils.checks import check_choice, check_int
from .class_rows import ClassRows, class_names_of, cka_cost_on_main_process
from .collect import Preprocess, own_preprocess

__all__ = [
    'CLS_FEATURE_SOURCES', 'collect_classification_class_features',
    'build_classification_cost_matrix'
]

#: What :func:`collect_classification_class_features` can read.
CLS_FEATURE_SOURCES = ('logits', 'pre_logits', 'feature')


def _labels_of(data_samples: list) -> Tensor:
    sample = data_samples[0]
    if 'gt_label' in sample:
        return torch.cat([ds.gt_label for ds in data_samples]).long()
    if 'gt_score' in sample:
        return torch.stack([ds.gt_score for ds in data_samples]).argmax(1)
    raise ValueError('The data samples carry no gt_label; the cost matrix '
                     'needs labelled images (use the training split).')


@torch.no_grad()
def collect_classification_class_features(
        classifier: nn.Module,
        dataloader: Iterable,
        source: str = 'logits',
        num_per_class: int = 100,
        max_batches: Optional[int] = None,
        progress: bool = True,
        class_names: Optional[Sequence[str]] = None,
        preprocess: Optional[Preprocess] = None) -> Tensor:
    """Per-class teacher logits or penultimate features.

    Under distributed training every rank must call it: each reads its own
    shard and the rows of all ranks are gathered (see
    :class:`~mmkd.apis.class_rows.ClassRows`).

    Args:
        classifier (nn.Module): A trained mmpretrain ``ImageClassifier`` (run
            in eval mode).
        dataloader (Iterable): Batches with ``gt_label`` (a train or val
            dataloader of the classifier's dataset; the training pipeline's
            augmentation is fine, the official matrices used the train set).
        source (str): ``'logits'`` (the head's output, as the official
            ImageNet matrices), ``'pre_logits'`` (the head's input
            features after ``pre_logits``, as the paper) or ``'feature'``
            (the backbone's ``DISTILL_STAGE`` output, else its last output:
            every spatial position of every image is a row of ``C``
            channels, image by image, as the official CIFAR matrices).
            Defaults to ``'logits'``.
        num_per_class (int): Rows to collect per class (stop early once every
            class has them); with ``'feature'`` an image gives ``H * W``
            rows (the official CIFAR-100 matrices: 500 images x 64
            positions = 32000). Defaults to 100.
        max_batches (int, optional): Stop after this many batches.
        progress (bool): Show mmengine's progress bar. Defaults to True.
        class_names (Sequence[str], optional): Names for error messages.
        preprocess (callable, optional): Batch -> the classifier's inputs.
            Defaults to the classifier's own ``data_preprocessor``; a
            distiller passes :meth:`~mmkd.models.BaseDistiller.teacher_data`
            so that the teacher sees what training feeds it.

    Returns:
        torch.Tensor: ``(num_classes, b, d)`` float32 on the CPU, ``b`` the
        smallest per-class count (at most ``num_per_class``).

    Raises:
        ValueError: If ``source`` is unknown, or a class got fewer than 2
            samples (the classes are named).
        TypeError: If ``classifier`` is not an ``ImageClassifier``.
    """
    check_choice('source', source, CLS_FEATURE_SOURCES)
    check_int('num_per_class', num_per_class, minimum=2)
    head = getattr(classifier, 'head', None)
    num_classes = getattr(head, 'num_classes', None)
    if head is None or not hasattr(classifier, 'extract_feat') or \
            not isinstance(num_classes, int):
        raise TypeError(
            f'{type(classifier).__name__} is not an mmpretrain '
            'ImageClassifier with a classification head (head.num_classes); '
            'for detectors use build_detection_cost_matrix.')
    rows = ClassRows(
        class_names_of(class_names, num_classes), num_per_class)
    preprocess = own_preprocess(classifier, preprocess)
    backbone = classifier.backbone
    stage = getattr(backbone, 'DISTILL_STAGE', None)
    recorder = map_recorder(
        backbone, dict(feature=dict(backbone.named_modules())[stage]
                       if stage else backbone))
    was_training = classifier.training
    classifier.eval()
    try:
        for data in rows.batches(dataloader, max_batches, progress):
            data = preprocess(data)
            inputs, samples = data['inputs'], data['data_samples']
            labels = _labels_of(samples).cpu()
            if source == 'logits':
                feats = classifier(inputs, mode='tensor')
            elif source == 'pre_logits':
                feats = classifier.extract_feat(inputs, stage='pre_logits')
            else:
                with recorder.recording():
                    classifier.extract_feat(inputs, stage='backbone')
                recorder.get('feature', 'teacher', 'the stage')
                feats = recorded_maps(recorder, backbone, ['feature'],
                                      "the teacher's")['feature']
            if isinstance(feats, (tuple, list)):
                feats = feats[-1]
            bad = labels[(labels < 0) | (labels >= num_classes)]
            if bad.numel():
                raise ValueError(
                    f'Label {int(bad.min())} is outside the {num_classes} '
                    'classes of the classifier head.')
            feats = feats.detach().float()
            if source == 'feature':  # (N, C, H, W) -> (N * H * W, C)
                positions = feats.shape[2:].numel()
                feats = feats.flatten(2).transpose(1, 2).flatten(0, 1)
                labels = labels.repeat_interleave(positions)
            rows.add(feats.flatten(1).cpu(), labels)
    finally:
        classifier.train(was_training)
    return rows.stack('Each class needs at least 2 images; use more batches '
                      '(max_batches) or the training split.')


def build_classification_cost_matrix(classifier: nn.Module,
                                     dataloader: Iterable,
                                     kappa: float = 1.0,
                                     **kwargs) -> Tensor:
    """Collect class features (see
    :func:`collect_classification_class_features`, whose keyword arguments
    pass through) and return the CKA cost matrix ``(num_classes,
    num_classes)``, float32, symmetric with a zero diagonal."""
    features = collect_classification_class_features(classifier, dataloader,
                                                     **kwargs)
    return cka_cost_on_main_process(features, kappa)
