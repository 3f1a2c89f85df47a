# Copyright (c) OpenMMLab. All rights reserved.
"""BD-KD online distillation: teacher and student train together.

Both networks are trainable and update every step. Each network's loss
only reaches its own parameters: the student's distillation term holds the
teacher's logits constant and the teacher's holds the student's constant,
so the sum of all terms, optimised by **one** ``OptimWrapper``, gives each
network exactly the gradient of its own loss. Per-network optimiser
settings go through ``paramwise_cfg.custom_keys`` (prefixes ``student.`` and
``teacher.``). The checkpoint therefore holds both networks and one
optimiser state, and ``--resume`` continues exactly.

Caveat of the single wrapper: ``clip_grad`` clips the joint gradient norm of
both networks. Leave it off (the BD-KD configs do), or accept the coupling.
"""
from typing import Dict, List, Optional, Union

import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from torch import Tensor

from mmkd.losses.bdkd_loss import (BDKDStudentLoss, BDKDTeacherLoss,
                                   entropy_gap_weights)
from mmkd.registry import MODELS
from mmkd.stack import require_classification
from mmkd.utils.checks import check_choice
from ..builder import build_model, distiller_data_preprocessor

__all__ = ['BDKDOnlineDistiller', 'EVAL_MODELS']

#: The values of ``eval_model``.
EVAL_MODELS = ('student', 'teacher')

ModelSpec = Union[dict, str, nn.Module]


def _build_loss(cfg: Union[dict, nn.Module], default_type: type,
                what: str) -> nn.Module:
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict):
        raise TypeError(f'{what} must be a loss config dict or an nn.Module, '
                        f'got {type(cfg).__name__}')
    cfg = dict(cfg)
    cfg.setdefault('type', default_type.__name__)
    with DefaultScope.overwrite_default_scope('mmkd'):
        return MODELS.build(cfg)


@MODELS.register_module()
class BDKDOnlineDistiller(BaseModel):
    """Online distillation of two classifiers with BD-KD losses.

    ``loss`` returns (all optimised, as their keys contain ``loss``):

    * ``student_loss_cls``: the student head's own loss (CE);
    * ``student_loss_bdkd``: ``tau^2 * mean_i [d1_i KL(p_T || p_S) +
      d2_i KL(p_S || p_T)]`` (:class:`~mmkd.losses.BDKDStudentLoss`);
    * ``teacher_loss_cls``: the teacher head's own loss (CE);
    * ``teacher_loss_kl``: ``tau^2 * KL(p_S || p_T)`` towards the constant
      student (:class:`~mmkd.losses.BDKDTeacherLoss`);

    and, logged only, ``bdkd_reverse_weight`` (the mean of ``d2``) and
    ``bdkd_entropy_gap`` (the mean of ``H(p_S) - H(p_T)``).

    The networks are mmpretrain ``ImageClassifier``-like: they provide
    ``extract_feat(inputs)``, a ``head`` whose ``forward(feats)`` gives the
    logits and whose ``loss(feats, data_samples)`` the supervised loss, and
    ``forward(inputs, data_samples, mode)`` for prediction.

    Args:
        student (dict | str | nn.Module): The student config, config file
            or module.
        teacher (dict | str | nn.Module): The teacher config, config file
            or module; trained from its current weights.
        student_distill_loss (dict | nn.Module): The student's
            distillation term. Defaults to ``dict(type='BDKDStudentLoss')``.
        teacher_distill_loss (dict | nn.Module): The teacher's regulariser.
            Defaults to ``dict(type='BDKDTeacherLoss')``.
        eval_model (str): The network used by ``predict`` and ``tensor``
            mode, ``'student'`` or ``'teacher'``. Defaults to
            ``'student'``.
        data_preprocessor (dict | nn.Module, optional): Shared by both
            networks; a dict without ``type`` (mmpretrain's top-level
            ``data_preprocessor``, which the Runner passes in) is a
            ``ClsDataPreprocessor``. Defaults to the student's
            ``data_preprocessor``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 student: ModelSpec,
                 teacher: ModelSpec,
                 student_distill_loss: Union[dict, nn.Module] = dict(
                     type='BDKDStudentLoss'),
                 teacher_distill_loss: Union[dict, nn.Module] = dict(
                     type='BDKDTeacherLoss'),
                 eval_model: str = 'student',
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        require_classification(type(self).__name__)
        student = build_model(student, 'student')
        super().__init__(
            data_preprocessor=distiller_data_preprocessor(
                data_preprocessor, student, 'mmpretrain.ClsDataPreprocessor'),
            init_cfg=init_cfg)
        self.student = student
        self.teacher = build_model(teacher, 'teacher')
        for role, net in (('student', self.student), ('teacher',
                                                      self.teacher)):
            missing = [
                a for a in ('extract_feat', 'head') if not hasattr(net, a)
            ]
            if missing:
                raise TypeError(
                    f'The {role} ({type(net).__name__}) has no '
                    f'{" / ".join(missing)}; BD-KD needs mmpretrain '
                    'ImageClassifier-like networks.')
        self.student_distill_loss = _build_loss(student_distill_loss,
                                                BDKDStudentLoss,
                                                'student_distill_loss')
        self.teacher_distill_loss = _build_loss(teacher_distill_loss,
                                                BDKDTeacherLoss,
                                                'teacher_distill_loss')
        self.set_eval_model(eval_model)

    def set_eval_model(self, eval_model: str) -> None:
        """Choose the network used by ``predict`` and ``tensor`` mode.

        Args:
            eval_model (str): ``'student'`` or ``'teacher'``.
        """
        check_choice('eval_model', eval_model, EVAL_MODELS)
        self.eval_model = eval_model

    @property
    def eval_net(self) -> nn.Module:
        """The network that ``predict`` delegates to."""
        return self.student if self.eval_model == 'student' else self.teacher

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """Dispatch to ``loss``, ``predict`` or the raw logits.

        Args:
            inputs (torch.Tensor): The preprocessed images (N, C, H, W).
            data_samples (list, optional): The data samples. Defaults to
                None.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.
                Defaults to ``'tensor'``.

        Returns:
            dict | list | torch.Tensor: Losses, predictions of
            ``eval_model``, or the logits of ``eval_model``.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode in ('predict', 'tensor'):
            return self.eval_net(inputs, data_samples, mode=mode)
        raise RuntimeError(f'Invalid mode "{mode}"; use "loss", "predict" '
                           'or "tensor".')

    def loss(self, inputs: Tensor, data_samples: List) -> Dict[str, Tensor]:
        """Losses of both networks on the same batch.

        Args:
            inputs (torch.Tensor): The preprocessed images (N, C, H, W).
            data_samples (list): Data samples with ``gt_label``.

        Returns:
            dict[str, torch.Tensor]: The terms listed in the class
            docstring.
        """
        feats_s = self.student.extract_feat(inputs)
        feats_t = self.teacher.extract_feat(inputs)
        logits_s = self.student.head(feats_s)
        logits_t = self.teacher.head(feats_t)
        losses: Dict[str, Tensor] = {}
        for role, net, feats in (('student', self.student, feats_s),
                                 ('teacher', self.teacher, feats_t)):
            for key, value in net.head.loss(feats, data_samples).items():
                name = 'loss_cls' if key == 'loss' else key
                losses[f'{role}_{name}'] = value
        # Cross terms see the other network as a constant.
        losses['student_loss_bdkd'] = self.student_distill_loss(
            logits_s, logits_t.detach())
        losses['teacher_loss_kl'] = self.teacher_distill_loss(
            logits_t, logits_s.detach())
        loss_s = self.student_distill_loss
        if hasattr(loss_s, 'weighting'):
            weights = entropy_gap_weights(
                logits_s.detach().float(),
                logits_t.detach().float(), loss_s.tau, loss_s.weighting,
                loss_s.gap_temperature)
            losses['bdkd_reverse_weight'] = weights.reverse.mean()
            losses['bdkd_entropy_gap'] = weights.gap.mean()
        return losses

    def student_losses(self, losses: Dict[str, Tensor]) -> Tensor:
        """Sum of the optimised terms that belong to the student."""
        return sum(v for k, v in losses.items()
                   if k.startswith('student_') and 'loss' in k)

    def teacher_losses(self, losses: Dict[str, Tensor]) -> Tensor:
        """Sum of the optimised terms that belong to the teacher."""
        return sum(v for k, v in losses.items()
                   if k.startswith('teacher_') and 'loss' in k)
