# Copyright (c) OpenMMLab. All rights reserved.
"""What one distillation step knows: :class:`StepContext`."""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

from torch import Tensor

__all__ = ['StepContext']


@dataclass
class StepContext:
    """The state of one :meth:`~mmkd.models.BaseDistiller.distill_step`.

    A task distiller's ``loss`` runs the student, fills a context and hands
    it to the step; ``_run_teacher`` and ``_term`` read it.

    Args:
        inputs (Tensor): The student's preprocessed batch (N, C, H, W).
        ref (Tensor): A student output the zeros of skipped terms are
            connected to (so DDP sees every parameter).
        student (dict): What the student's forward gave the terms (task
            keys: neck outputs, sampled RoIs, head outputs, recorded
            stages, ...).
        data_samples (list, optional): The batch's data samples.
        skipped (int): Teacher outputs (RoIs, priors, FPN levels) skipped
            because they were non-finite; ``_run_teacher`` and ``_term``
            add to it.
    """
    inputs: Tensor
    ref: Tensor
    student: Dict[str, Any] = field(default_factory=dict)
    data_samples: Optional[list] = None
    skipped: int = 0
    _cache: Dict[str, Any] = field(default_factory=dict, repr=False)

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per step and shared by the terms."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]
