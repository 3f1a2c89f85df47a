# Copyright (c) OpenMMLab. All rights reserved.
"""What every cost-matrix builder uses to read a teacher.

A builder turns each dataloader batch into the teacher's inputs
(:data:`Preprocess`; a distiller passes
:meth:`~mmkd.models.BaseDistiller.teacher_data`, so the teacher sees what
training feeds it), runs the teacher in eval mode while recording what a
layer receives (:func:`eval_capture`) and keeps per-class rows
(:class:`~mmkd.apis.class_rows.ClassRows`).
"""
import contextlib
from typing import Callable, Iterator, Optional

import torch.nn as nn

from mmkd.models.recorder import StageRecorder
from mmkd.utils.checks import check_int

__all__ = ['Preprocess', 'own_preprocess', 'eval_capture', 'check_counts']

#: Turns a dataloader batch into the teacher's model inputs
#: (``dict(inputs=..., data_samples=...)``).
Preprocess = Callable[[dict], dict]


def own_preprocess(model: nn.Module,
                   preprocess: Optional[Preprocess]) -> Preprocess:
    """``preprocess``, or the model's own ``data_preprocessor`` (test
    mode)."""
    if preprocess is not None:
        return preprocess
    return lambda data: model.data_preprocessor(data, False)


def check_counts(**counts: int) -> None:
    """Raise a ``ValueError`` unless every count is a positive int."""
    for name, value in counts.items():
        check_int(name, value)


@contextlib.contextmanager
def eval_capture(model: nn.Module, module: nn.Module,
                 flatten: bool) -> Iterator[StageRecorder]:
    """Put ``model`` in eval mode and record what ``module`` (or each
    module of an ``nn.ModuleList``, in call order) receives.

    Yields a :class:`~mmkd.models.recorder.StageRecorder` whose key
    ``'input'`` collects ``module``'s first input of every call: detached,
    float32, and with ``flatten`` flattened to ``(N, -1)`` and copied (the
    input of an RoI head's ``fc_cls`` is ReLU'd in place upstream). The
    hooks are removed and the mode restored on exit.
    """

    def keep(x):
        x = x.detach().float()
        return x.flatten(1).clone() if flatten else x

    recorder = StageRecorder(
        dict(input=module), inputs=True, every_call=True, transform=keep)
    was_training = model.training
    model.eval()
    try:
        with recorder.recording():
            yield recorder
    finally:
        model.train(was_training)
