# Copyright (c) OpenMMLab. All rights reserved.
"""What a WKD-L cost matrix was built from, stored beside it.

A cost file written by mmkd holds ``{'cost_matrix': tensor, 'record':
dict}``. The record names the teacher (its type and config file,
``teacher_ckpt`` and a fingerprint of its weights: names, shapes and values
of its state dict, so it identifies the architecture too), the class
features (``source``: :data:`DETECTOR_SOURCE` for a two-stage detector,
:data:`DENSE_SOURCE` for a one-stage one, the classifier's choice
otherwise), ``kappa``, ``num_per_class``, ``bg_per_image`` (detectors), the
class names and the mmkd version. A run that finds the file compares the
fields that change the matrix (:data:`COMPARED_FIELDS`) with its own and
refuses a file built for something else, instead of silently training
with it. Files without a record (the official ``*_linear_cka.pth``, files
of older mmkd versions) are used as they are.
"""
import hashlib
from typing import Any, Dict, Optional, Sequence

import torch
import torch.nn as nn

from mmkd.models.adapters import detector_kind

__all__ = [
    'COMPARED_FIELDS', 'DETECTOR_SOURCE', 'DENSE_SOURCE', 'teacher_kind',
    'weights_fingerprint', 'cost_matrix_record', 'record_mismatch'
]

#: Record fields that must agree between a cost file and the run using it.
COMPARED_FIELDS = ('teacher_weights', 'source', 'kappa', 'num_per_class',
                   'bg_per_image', 'class_names')

#: ``source`` of a detector's matrix: the input of the RoI head's
#: ``fc_cls`` (its penultimate features).
DETECTOR_SOURCE = 'roi_head.bbox_head.fc_cls input'
#: ``source`` of a one-stage detector's matrix: the dense head's
#: classification-branch features (its cls tower's output, the input of
#: ``gfl_cls``/``retina_cls``/...) at positive (and background) priors.
DENSE_SOURCE = 'dense_cls_feat'


def teacher_kind(teacher: nn.Module) -> str:
    """Which cost-matrix path a teacher takes.

    Args:
        teacher (nn.Module): The teacher.

    Returns:
        str: ``'two_stage'`` (an mmdet detector with a ``roi_head``),
        ``'single_stage'`` (one with a dense ``bbox_head``: RetinaNet, GFL,
        ATSS, FCOS, ...) or ``'classifier'`` (anything else, e.g. an
        mmpretrain ``ImageClassifier``); see
        :func:`~mmkd.models.adapters.detector_kind`.
    """
    kind = detector_kind(teacher)
    return 'classifier' if kind == 'other' else kind


def weights_fingerprint(model: nn.Module) -> str:
    """A short SHA-256 of a model's state dict (names, shapes, dtypes,
    values): the same weights give the same fingerprint wherever the
    checkpoint file lies."""
    digest = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        value = value.detach().cpu().contiguous()
        digest.update(f'{name}:{tuple(value.shape)}:{value.dtype};'.encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def cost_matrix_record(teacher: nn.Module,
                       *,
                       kappa: float,
                       num_per_class: int,
                       class_names: Optional[Sequence[str]],
                       source: str = 'logits',
                       bg_per_image: int = 16,
                       teacher_ckpt: Optional[str] = None,
                       **extra: Any) -> Dict[str, Any]:
    """The record of a cost matrix built from ``teacher`` with these
    settings.

    Args:
        teacher (nn.Module): The teacher the matrix is (or was) built from.
        kappa (float): Sharpening.
        num_per_class (int): Samples asked for per class.
        class_names (Sequence[str], optional): The rows' names (background
            last for detectors), None if unknown.
        source (str): A classifier's class features (``'logits'``,
            ``'pre_logits'`` or ``'feature'``); ignored for detectors, whose source is
            :data:`DETECTOR_SOURCE` (two-stage) or :data:`DENSE_SOURCE`
            (one-stage). Defaults to ``'logits'``.
        bg_per_image (int): Background RoIs (two-stage) or locations
            (one-stage) per image; detectors only. Defaults to 16.
        teacher_ckpt (str, optional): The checkpoint the teacher was loaded
            from, for messages.
        **extra: Further fields to store (not compared), e.g.
            ``teacher_config`` (its config file) or ``seed``.

    Returns:
        dict: Plain Python values (loadable with ``weights_only=True``).
    """
    from mmkd import __version__
    kind = teacher_kind(teacher)
    detector = kind != 'classifier'
    record = dict(
        teacher_type=type(teacher).__name__,
        teacher_ckpt=None if teacher_ckpt is None else str(teacher_ckpt),
        teacher_weights=weights_fingerprint(teacher),
        source=dict(two_stage=DETECTOR_SOURCE,
                    single_stage=DENSE_SOURCE).get(kind, str(source)),
        kappa=float(kappa),
        num_per_class=int(num_per_class),
        bg_per_image=int(bg_per_image) if detector else None,
        class_names=None if class_names is None else [
            str(n) for n in class_names
        ],
        mmkd_version=__version__)
    record.update(extra)
    return record


def _show(field: str, record: Dict[str, Any]) -> str:
    value = record.get(field)
    if field == 'teacher_weights':
        return (f'{value} (teacher {record.get("teacher_type")}, '
                f'teacher_ckpt {record.get("teacher_ckpt")!r})')
    return repr(value)


def record_mismatch(stored: Optional[Dict[str, Any]],
                    expected: Dict[str, Any]) -> Optional[str]:
    """What differs between a file's record and the run's, or None.

    A file without a record, and fields either side does not know (None),
    are not compared. Class names are compared when both sides have them.

    Returns:
        str | None: One line per differing field, naming both values.
    """
    if not stored:
        return None
    lines = []
    for field in COMPARED_FIELDS:
        a, b = stored.get(field), expected.get(field)
        if a is None or b is None:
            continue
        if field == 'kappa':
            same = float(a) == float(b)
        else:
            same = a == b
        if not same:
            lines.append(f'  {field}: file {_show(field, stored)}, this run '
                         f'{_show(field, expected)}')
    return '\n'.join(lines) or None
