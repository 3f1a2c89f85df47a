# Copyright (c) OpenMMLab. All rights reserved.
"""The student's batch in the teacher's input normalisation.

A distiller preprocesses each batch once, with the student's
``data_preprocessor``, and hands the same tensor to the teacher, so both see
the same size, padding and augmentation (and a two-stage teacher scores RoIs
in the student's coordinates). When the teacher was trained with another
normalisation (a caffe-style teacher: BGR, std 1), :class:`InputRenormalizer`
undoes the student's mean/std and channel order and applies the teacher's.
Only the padded border then differs from what the teacher would see alone.
"""
import logging
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

__all__ = ['NormParams', 'norm_params', 'InputRenormalizer']

#: Input normalisation of a data preprocessor: (mean, std, channel flip);
#: mean and std are None when it does not normalise.
NormParams = Tuple[Optional[Tensor], Optional[Tensor], bool]


def norm_params(preproc: Optional[nn.Module]) -> Optional[NormParams]:
    """``(mean, std, flip)`` of a data preprocessor, or None when it is not
    an mmengine-style image preprocessor.

    ``flip`` is mmengine's channel conversion (``bgr_to_rgb``) or
    mmpretrain's ``to_rgb``.
    """
    if preproc is None or not hasattr(preproc, '_enable_normalize'):
        return None
    if preproc._enable_normalize:
        mean = preproc.mean.detach().clone().float().view(-1)
        std = preproc.std.detach().clone().float().view(-1)
    else:
        mean = std = None
    flip = getattr(preproc, '_channel_conversion',
                   getattr(preproc, 'to_rgb', False))
    return mean, std, bool(flip)


class InputRenormalizer:
    """Converts batches normalised as ``student`` into ``teacher``'s.

    Args:
        student (NormParams): The normalisation the batches are in.
        teacher (NormParams): The one the teacher expects.
    """

    def __init__(self, student: NormParams, teacher: NormParams) -> None:
        self.student = student
        self.teacher = teacher

    @classmethod
    def between(cls,
                student: Optional[nn.Module],
                teacher: Optional[nn.Module],
                unnormalised_is_unset: bool = False
                ) -> Optional['InputRenormalizer']:
        """The converter between two data preprocessors, or None when the
        batch can go to the teacher as it is.

        Args:
            student (nn.Module, optional): The distiller's preprocessor.
            teacher (nn.Module, optional): The teacher's own.
            unnormalised_is_unset (bool): Read a teacher preprocessor that
                does not normalise as "not configured" (mmpretrain model
                configs keep the normalisation at the top level, outside
                ``model``) rather than as "raw pixels" (mmdet model configs
                carry it). Defaults to False.

        Returns:
            InputRenormalizer | None: The converter, when they differ (with a
            warning saying so).
        """
        s, t = norm_params(student), norm_params(teacher)
        if s is None or t is None:
            return None
        if t[0] is None and unnormalised_is_unset:
            return None
        same = (s[2] == t[2] and (s[0] is None) == (t[0] is None)
                and (s[0] is None or (torch.equal(s[0], t[0])
                                      and torch.equal(s[1], t[1]))))
        if same:
            return None
        print_log(
            'The teacher normalises its inputs differently from the student '
            f'(student mean/std/flip {s}, teacher {t}); the student batch is '
            "converted to the teacher's normalisation before the teacher "
            'runs (padding stays where the student put it).',
            logger='current',
            level=logging.WARNING)
        return cls(s, t)

    def __call__(self, inputs: Tensor) -> Tensor:
        """``inputs`` (N, C, H, W) converted, in the same dtype."""
        (s_mean, s_std, s_flip), (t_mean, t_std, t_flip) = (self.student,
                                                           self.teacher)
        x = inputs.float()
        if s_mean is not None:
            x = x * s_std.to(x).view(1, -1, 1, 1) + s_mean.to(x).view(
                1, -1, 1, 1)
        if s_flip != t_flip:
            x = x.flip(1)
        if t_mean is not None:
            x = (x - t_mean.to(x).view(1, -1, 1, 1)) / t_std.to(x).view(
                1, -1, 1, 1)
        return x.to(inputs.dtype)
