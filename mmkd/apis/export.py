# Copyright (c) OpenMMLab. All rights reserved.
"""Student-only checkpoints that the plain student config loads."""
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Optional

import numpy as np
import torch
from torch import Tensor

from mmkd.models.checkpoint_io import student_state_dict_from

__all__ = ['plain_meta', 'save_student_checkpoint', 'export_student']


def plain_meta(meta: Any) -> Any:
    """``meta`` with numpy values turned into Python ones, so that the file
    loads with ``torch.load(weights_only=True)`` without mmkd's allow-list
    (plain mmdet's ``tools/test.py`` does not import mmkd)."""
    if isinstance(meta, dict):
        return {str(k): plain_meta(v) for k, v in meta.items()}
    if isinstance(meta, (list, tuple)):
        return type(meta)(plain_meta(v) for v in meta)
    if isinstance(meta, np.generic):
        return meta.item()
    if isinstance(meta, np.ndarray):
        return meta.tolist()
    if meta is None or isinstance(meta, (str, int, float, bool, Tensor)):
        return meta
    return str(meta)


def save_student_checkpoint(student_state: Dict[str, Tensor],
                            out_file: str,
                            meta: Optional[dict] = None) -> str:
    """Write ``{'state_dict': ..., 'meta': ...}`` with tensors on the CPU.

    Returns:
        str: ``out_file``.
    """
    state = OrderedDict(
        (k, v.detach().cpu()) for k, v in student_state.items())
    meta = plain_meta(dict(meta or {}))
    meta.pop('cfg', None)  # the distiller config; the student has its own
    meta['mmkd_exported_student'] = True
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), out_file)
    return out_file


def export_student(checkpoint: dict,
                   out_file: str,
                   student: Optional[torch.nn.Module] = None) -> str:
    """Export the student of a distiller checkpoint.

    Args:
        checkpoint (dict): A loaded distiller checkpoint (runner format or a
            bare state dict).
        out_file (str): Where to write.
        student (nn.Module, optional): The student model; when given, the
            weights are loaded into it strictly first, so a mismatch fails
            here and not later in the user's test run.

    Raises:
        ValueError: If the checkpoint has no student weights.
        RuntimeError: If ``student`` does not accept the weights.
    """
    state = checkpoint.get('state_dict', checkpoint)
    student_state = student_state_dict_from(state)
    if student is not None:
        result = student.load_state_dict(student_state, strict=False)
        missing = [
            k for k in result.missing_keys
            if not k.endswith('num_batches_tracked')
        ]
        if missing or result.unexpected_keys:
            raise RuntimeError(
                'The student config does not match the checkpoint: missing '
                f'{missing}, unexpected {list(result.unexpected_keys)}.')
    return save_student_checkpoint(student_state, out_file,
                                   checkpoint.get('meta'))
