# Copyright (c) OpenMMLab. All rights reserved.
"""Distillation of mmpretrain image classifiers.

The student trains with its own ``ImageClassifier.loss`` (unchanged, so
label smoothing, Mixup/CutMix targets and custom heads work as configured);
forward hooks record the tensors the distillation terms read:

* ``'logits'``: the output of the classifier's ``head`` (N, num_classes);
* ``'feature'``: the output of a backbone module (a stage), by default the
  backbone's last output, i.e. the last stage after its ReLU for ResNets and
  :class:`~mmkd.models.MobileNetV1` (the paper's "Conv5",
  ``docs/methods.md`` section 2), as an ``(N, C, H, W)`` map whatever the
  backbone family: Transformer tokens become a map on their patch grid
  (:func:`~mmkd.models.adapters.to_feature_map`);
* ``'pooled'``: the output of the classifier's ``neck`` (N, D), the pooled
  penultimate features that KDDM matches over the batch
  (``docs/methods.md`` section 6).

The teacher runs once per step under ``no_grad`` on the same preprocessed
batch, with the same hooks. When the teacher's ``data_preprocessor``
normalises differently (another mean/std or channel order), the batch is
converted to its normalisation first (:meth:`BaseDistiller.teacher_inputs`);
a teacher whose model config carries no normalisation (mmpretrain keeps it
at the top level of a config) gets the student's batch as is. The hooks
live only for the duration of one forward
(:class:`~mmkd.models.recorder.StageRecorder`).
"""
import logging
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

from mmkd.registry import MODELS
from mmkd.stack import require_classification
from mmkd.utils.checks import check_int
from ..adapters.feature_map import map_recorder, recorded_maps
from ..recorder import StageRecorder
from .base_distiller import BaseDistiller, LossValue
from .step import StepContext
from .terms import Source, TermKey

__all__ = ['ClassificationDistiller', 'CLS_SOURCES']

#: Sources a distillation term can read: what the loss receives, and the
#: keys each takes.
CLS_SOURCES = {
    'logits': Source(
        'classification logits (N, num_classes) of student and teacher, '
        'plus the labels for losses that accept them',
        keys=('labels', )),
    'feature': Source(
        'a backbone stage output (N, C, H, W) of student (through the '
        'connector, if any) and teacher',
        keys=('connector', 'student_stage', 'teacher_stage')),
    'pooled': Source(
        'the neck output (N, D), the pooled penultimate features, of '
        'student (through the connector, if any) and teacher, plus the '
        'labels and the logits for losses that require them '
        '(`requires_labels`, `requires_logits`, e.g. mmkd.KDDMLoss)',
        keys=('connector', 'labels')),
}
#: Recorder keys of the head and neck outputs (stage keys are module names
#: or None).
_LOGITS = '__logits__'
_POOLED = '__pooled__'
#: How a 'logits' term gets its labels from the data samples.
_LABEL_MODES = ('hard', 'argmax', 'none')


@MODELS.register_module()
class ClassificationDistiller(BaseDistiller):
    """Knowledge distillation between mmpretrain image classifiers.

    The student's own losses are logged as ``student.<key>`` (mmpretrain's
    head logs ``loss``, so ``student.loss``), the distillation terms as
    ``distill.<term name>``. Every term is computed in float32 outside
    autocast. ``predict``/``tensor`` modes are the student's.

    Example (ImageNet R34 -> R18 WKD-L+F, see ``configs/imagenet``)::

        model = dict(
            type='mmkd.ClassificationDistiller',
            student=resnet18_model_dict,
            teacher='mmpretrain::resnet/resnet34_8xb32_in1k.py',
            teacher_ckpt='https://download.openmmlab.com/...pth',
            distill_losses=dict(
                loss_wkd_l=dict(type='mmkd.WKDLogitLoss', cost_matrix=path,
                                kappa=1.0, temperature=2.0, wd_weight=10.0),
                loss_wkd_f=dict(type='mmkd.WKDFeatureLoss', grid=4,
                                mean_cov_ratio=2.0, loss_weight=1.0)),
            distill_inputs=dict(
                loss_wkd_l='logits',
                loss_wkd_f=dict(source='feature', connector='proj')),
            connectors=dict(proj=dict(type='mmkd.BottleneckProjector',
                                      in_channels=512, out_channels=512)))

    Args:
        student (dict | str | nn.Module): An ``ImageClassifier`` (config,
            config file or module) with a head.
        teacher (dict | str | nn.Module): Same, e.g.
            ``'mmpretrain::resnet/resnet34_8xb32_in1k.py'``.
        teacher_ckpt (str, optional): Teacher weights (path or URL).
        distill_losses (dict, optional): Term name -> loss config. Names
            contain ``'loss'``.
        distill_inputs (dict, optional): Term name -> what the term reads: a
            source name (``'logits'`` or ``'feature'``, see
            :data:`CLS_SOURCES`) or a dict with ``source`` and optionally
            ``connector`` (a key of ``connectors``, applied to the student
            feature), ``student_stage`` / ``teacher_stage`` (name of a
            module inside the backbone, e.g. ``'layer3'``; default None =
            the backbone's ``DISTILL_STAGE`` if it declares one, as the
            CIFAR zoo does, else its last output), ``labels`` (for ``'logits'`` terms
            whose loss takes labels: ``'hard'`` uses ``gt_label`` and
            raises on soft ``gt_score`` (Mixup/CutMix), ``'argmax'`` reduces
            soft scores with argmax as the official WKD code does,
            ``'none'`` passes no labels, e.g. WKD-L without target
            separation; default ``'hard'``; also for ``'pooled'`` terms
            whose loss requires labels, such as a class-conditional KDDM
            metric) and ``scheduled`` (whether
            :meth:`set_distill_weight_scale` affects the term, default
            True). Every term needs an entry.
        connectors (dict, optional): Name -> connector config (e.g.
            ``mmkd.BottleneckProjector`` or ``mmkd.ConvConnector``).
        teacher_ckpt_strict (bool): See :class:`BaseDistiller`.
        teacher_trainable (bool): Not supported (raises); online
            distillation has its own distiller. Defaults to False.
        save_teacher (bool): Keep the teacher in checkpoints.
        probe_size (int, optional): Side of the zero image pushed through
            both backbones at construction to check feature widths (eval
            mode, no grad). None skips the probe; the same checks then run
            on the first batch. Defaults to 64.
        data_preprocessor (dict | nn.Module, optional): Defaults to the
            student's; a dict without ``type`` (what the runner passes from
            an mmpretrain config's top-level ``data_preprocessor``) becomes
            an ``mmpretrain.ClsDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    SOURCES = CLS_SOURCES
    TERM_KEYS = dict(
        BaseDistiller.TERM_KEYS,
        student_stage=TermKey(),
        teacher_stage=TermKey(),
        labels=TermKey(default='hard', choices=_LABEL_MODES))
    UNNORMALISED_TEACHER_IS_UNSET = True
    UNTYPED_PREPROCESSOR = 'mmpretrain.ClsDataPreprocessor'

    def __init__(self,
                 *args,
                 probe_size: Optional[int] = 64,
                 **kwargs) -> None:
        if probe_size is not None:
            check_int('probe_size', probe_size)
        super().__init__(*args, **kwargs)
        self._recorders = self._make_recorders()
        #: Feature terms whose widths were checked (by the probe or the
        #: first batch).
        self._shapes_checked = False
        if probe_size is not None and self._feature_terms():
            self._probe(probe_size)

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------
    def _check_requirements(self) -> None:
        """mmpretrain (its ``ImageClassifier`` and data preprocessor)."""
        require_classification(type(self).__name__)

    def _check_models(self) -> None:
        """Both models are mmpretrain classifiers with a head; the
        student's batch augments carry over to the distiller."""
        for role, model in (('student', self.student), ('teacher',
                                                        self.teacher)):
            missing = [
                attr for attr in ('backbone', 'head', 'extract_feat')
                if getattr(model, attr, None) is None
            ]
            if missing:
                raise TypeError(
                    f'The {role} ({type(model).__name__}) is not an '
                    'mmpretrain ImageClassifier with a head (no '
                    f'{", ".join(missing)}).')
        self._inherit_batch_augments()

    def _inherit_batch_augments(self) -> None:
        """Use the student's Mixup/CutMix (``train_cfg.augments``, which
        ``ImageClassifier`` hands to its own data preprocessor) when the
        distiller got another preprocessor without batch augments (the
        runner passes the config's top-level ``data_preprocessor``)."""
        own = self.data_preprocessor
        student = getattr(self.student, 'data_preprocessor', None)
        augments = getattr(student, 'batch_augments', None)
        if own is student or augments is None or \
                getattr(own, 'batch_augments', False) is not None:
            return
        own.batch_augments = augments
        own.to_onehot = True
        if getattr(own, 'num_classes', None) is None:
            own.num_classes = self.student.head.num_classes

    def _parse_term(self, name: str, term: dict) -> dict:
        """A loss that requires labels needs a label mode that gives them;
        a feature term without a stage reads the backbone's
        ``DISTILL_STAGE`` (the feature the official code distils, for the
        CIFAR zoo), else its last output."""
        if term['source'] != 'feature' and term['labels'] == 'none' and \
                self.contracts[name].requires_labels:
            raise ValueError(
                f'distill_inputs[{name!r}] has labels=\'none\' but '
                f'{type(self.distill_losses[name]).__name__} requires '
                "labels; use labels='hard' or 'argmax'.")
        if term['source'] != 'feature':
            return {}
        return {
            f'{role}_stage': term[f'{role}_stage'] or getattr(
                model.backbone, 'DISTILL_STAGE', None)
            for role, model in (('student', self.student), ('teacher',
                                                            self.teacher))
        }

    @staticmethod
    def _resolve_stage(model: nn.Module, stage: Optional[str],
                       role: str) -> nn.Module:
        backbone = model.backbone
        if stage is None:
            return backbone
        modules = dict(backbone.named_modules())
        if not isinstance(stage, str) or not stage or stage not in modules:
            top = [name for name, _ in backbone.named_children()]
            stages = getattr(backbone, 'res_layers', None) or getattr(
                backbone, 'layers', None)
            hint = ''
            if isinstance(stages, (list, tuple)) and stages and all(
                    isinstance(s, str) for s in stages):
                hint = f' The stages are {list(stages)}.'
            raise ValueError(
                f'The {role} backbone ({type(backbone).__name__}) has no '
                f'module {stage!r} to record. Valid stage names: '
                f'{", ".join(top)} (or a nested module such as '
                f"'{top[-1]}.0'); None records the backbone's last "
                f'output.{hint}')
        return modules[stage]

    def _make_recorders(self) -> Dict[str, StageRecorder]:
        recorders = {}
        for role, model in (('student', self.student), ('teacher',
                                                        self.teacher)):
            others = {_LOGITS: model.head}
            stages = {}
            for name, term in self.distill_inputs.items():
                if term['source'] == 'pooled':
                    others[_POOLED] = self._neck(model, name, role)
                if term['source'] != 'feature':
                    continue
                stage = term[f'{role}_stage']
                stages[stage] = self._resolve_stage(model, stage, role)
            recorders[role] = map_recorder(model.backbone, stages, others)
        return recorders

    def _outputs(self, role: str, rec: StageRecorder) -> dict:
        """What ``rec`` recorded for ``role``, every stage as an
        ``(N, C, H, W)`` map."""
        return recorded_maps(
            rec, getattr(self, role).backbone,
            [k for k in rec.modules if k not in (_LOGITS, _POOLED)],
            f"the {role}'s")

    @staticmethod
    def _neck(model: nn.Module, name: str, role: str) -> nn.Module:
        neck = getattr(model, 'neck', None)
        if neck is None:
            raise ValueError(
                f"Term {name!r} reads the 'pooled' source (the neck output), "
                f'but the {role} has no neck; add one to its model config, '
                "e.g. neck=dict(type='GlobalAveragePooling').")
        return neck

    def _feature_terms(self) -> List[str]:
        """Terms reading student features through a possible connector."""
        return [
            n for n, t in self.distill_inputs.items()
            if t['source'] in ('feature', 'pooled')
        ]

    @property
    def num_classes(self) -> int:
        """Classes of the student's head."""
        return self.student.head.num_classes

    def _check_compatibility(self) -> None:
        logit_terms = [
            n for n, t in self.distill_inputs.items()
            if t['source'] == 'logits' or (
                t['source'] == 'pooled' and self.contracts[n].requires_logits)
        ]
        if not logit_terms:
            return
        s_classes = getattr(self.student.head, 'num_classes', None)
        t_classes = getattr(self.teacher.head, 'num_classes', None)
        if s_classes != t_classes:
            raise ValueError(
                f'The terms {logit_terms} compare logits, but the student '
                f'head has num_classes={s_classes} and the teacher head '
                f'num_classes={t_classes}. Both must be trained on the same '
                'classes (set model.student/teacher head.num_classes).')

    def check_cost_matrix(self, name: str, cost_matrix: Tensor) -> None:
        """Raise a ``ValueError`` unless the cost is ``num_classes`` square.

        Args:
            name (str): The term that will use it.
            cost_matrix (torch.Tensor): The (n, n) cost.
        """
        n = self.num_classes
        shape = tuple(cost_matrix.shape)
        if shape != (n, n):
            raise ValueError(
                f'The cost matrix of term {name!r} has shape {shape} but the '
                f'classifiers have num_classes={n}; build it over the same '
                f'{n} classes (tools/build_cost_matrix.py on the teacher, or '
                'the official file of the same dataset, e.g. the 1000-class '
                'ImageNet matrices).')

    def _recorded(self, name: str, role: str) -> Optional[str]:
        """The recorder key a feature or pooled term reads."""
        term = self.distill_inputs[name]
        if term['source'] == 'pooled':
            return _POOLED
        return term[f'{role}_stage']

    def _check_feature_pair(self, name: str, s_feat: Tensor,
                            t_feat: Tensor) -> None:
        """Check widths before the connector and spatial sizes."""
        term = self.distill_inputs[name]
        if term['source'] == 'pooled':
            what = 'pooled feature (neck output)'
            example = 'mmkd.LinearConnector'
        else:
            stages = [term[f'{r}_stage'] or '<last>'
                      for r in ('student', 'teacher')]
            what = (f'feature (student stage {stages[0]}, teacher stage '
                    f'{stages[1]})')
            example = 'mmkd.BottleneckProjector'
        self.check_connector(name, s_feat.shape[1], t_feat.shape[1], what,
                             example)
        resizes = hasattr(
            self.connectors[term['connector']] if term['connector'] else None,
            'out_size')  # e.g. ConvRegConnector: checked after it runs
        if not resizes and (s_feat.dim() != t_feat.dim()
                            or s_feat.shape[2:] != t_feat.shape[2:]):
            raise ValueError(
                f'Term {name!r}: the student and teacher {what}s have '
                f'spatial sizes {tuple(s_feat.shape[2:])} and '
                f'{tuple(t_feat.shape[2:])}; record stages of the same '
                'stride.')

    @torch.no_grad()
    def _probe(self, size: int) -> None:
        """Push a zero image through both backbones (eval mode) and check
        the recorded feature widths."""
        x = torch.zeros(1, 3, size, size)
        feats = {}
        modes = {m: m.training for m in (self.student, self.teacher)}
        try:
            for role, model in (('student', self.student), ('teacher',
                                                            self.teacher)):
                model.eval()
                x = x.to(next(model.parameters()).device)
                with self._recorders[role].recording() as rec:
                    model.extract_feat(x, stage='neck')
                feats[role] = rec
        except Exception as e:  # noqa: BLE001 - checked on the first batch
            print_log(
                f'Feature-width probe at {size}x{size} failed ({e}); the '
                'widths are checked on the first batch instead.',
                logger='current',
                level=logging.DEBUG)
            return
        finally:
            for model, mode in modes.items():
                model.train(mode)
            self.teacher.eval()
        maps = {role: self._outputs(role, rec) for role, rec in feats.items()}
        for name in self._feature_terms():
            pair = []
            for role in ('student', 'teacher'):
                key = self._recorded(name, role)
                where = {None: 'the backbone', _POOLED: 'the neck'}.get(
                    key, f'backbone.{key}')
                feats[role].get(key, role, where)  # raises if it never ran
                pair.append(maps[role][key])
            self._check_feature_pair(name, *pair)
        self._shapes_checked = True

    # ------------------------------------------------------------------
    # labels
    # ------------------------------------------------------------------
    def _labels(self, name: str, data_samples: Optional[list],
                device: torch.device) -> Optional[Tensor]:
        """The labels a ``'logits'`` term passes to its loss, or None."""
        term = self.distill_inputs[name]
        if term['labels'] == 'none' or \
                not self.contracts[name].accepts_labels:
            return None
        if not data_samples:
            raise ValueError(
                f'Term {name!r} needs labels, but the batch has no data '
                'samples.')
        sample = data_samples[0]
        if 'gt_score' in sample:
            if term['labels'] == 'hard':
                loss_type = type(self.distill_losses[name]).__name__
                raise ValueError(
                    f'Term {name!r} ({loss_type}) separates the target '
                    'class and needs hard labels, but the data samples '
                    'carry soft gt_score labels (Mixup/CutMix batch '
                    'augments, or to_onehot=True in the data preprocessor). '
                    'Remove the batch augments, '
                    f"or set distill_inputs[{name!r}]['labels']='argmax' "
                    "(the official WKD code's choice) or 'none' (no target "
                    'separation, where the loss allows it).')
            return torch.stack([ds.gt_score for ds in data_samples
                                ]).to(device).argmax(dim=1)
        if 'gt_label' not in sample:
            raise ValueError(
                f'Term {name!r} needs labels, but the data samples have no '
                f"gt_label; set distill_inputs[{name!r}]['labels']='none' "
                'where the loss allows it.')
        return torch.cat([ds.gt_label for ds in data_samples]).to(device)

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: list) -> dict:
        """Student losses (``student.*``) and distillation terms
        (``distill.*``) for one batch."""
        with self._recorders['student'].recording() as rec:
            student_losses = self.student.loss(inputs, data_samples)
        s_out = self._outputs('student', rec)
        ctx = StepContext(inputs, s_out[_LOGITS], s_out, data_samples)
        losses = self.add_prefix(student_losses, 'student.')
        losses.update(self.add_prefix(self.distill_step(ctx), 'distill.'))
        return losses

    def teacher_forward(self, inputs: Tensor) -> Dict[Optional[str], Tensor]:
        """Run the teacher once under ``no_grad`` on the student's batch
        (in the teacher's normalisation, see :meth:`teacher_inputs`); its
        recorded outputs (``'__logits__'``, ``'__pooled__'`` when a term
        reads the neck, and the stages)."""
        with torch.no_grad():
            return self._run_teacher(None, self.teacher_inputs(inputs))

    def _run_teacher(self, ctx: Optional[StepContext],
                     t_inputs: Tensor) -> Dict[Optional[str], Tensor]:
        """The teacher's recorded outputs (logits, neck, stages)."""
        with self._recorders['teacher'].recording() as rec:
            self.teacher(t_inputs, mode='tensor')
        return self._outputs('teacher', rec)

    def _term(self, name: str, term: dict, ctx: StepContext,
              teacher: dict) -> LossValue:
        """A ``'logits'``, ``'feature'`` or ``'pooled'`` term; ``ctx.student``
        holds the student's recorded outputs."""
        s_out, device = ctx.student, ctx.ref.device
        if term['source'] == 'logits':
            return self._call_loss(
                name, s_out[_LOGITS].float(), teacher[_LOGITS].float(),
                self._labels(name, ctx.data_samples, device))
        s, t = self._feature_pair(name, term, s_out, teacher)
        if term['source'] == 'feature':
            return self._call_loss(name, s, t)
        contract = self.contracts[name]
        labels = self._labels(name, ctx.data_samples, device) \
            if contract.requires_labels else None
        logits = dict(
            logits_s=s_out[_LOGITS].float(),
            logits_t=teacher[_LOGITS].float()
        ) if contract.requires_logits else {}
        return self._call_loss(name, s, t, labels, **logits)

    def _finish_step(self, ctx: StepContext, out: Dict[str, Tensor]) -> None:
        """The first step with distillation has checked the shapes."""
        if self.distill_enabled:
            self._shapes_checked = True

    def _feature_pair(self, name: str, term: dict, s_out: dict,
                      t_out: dict) -> Tuple[Tensor, Tensor]:
        """The float32 student (through its connector) and teacher
        features of a ``'feature'`` or ``'pooled'`` term."""
        s_feat = s_out.get(self._recorded(name, 'student'))
        t_feat = t_out.get(self._recorded(name, 'teacher'))
        if s_feat is None or t_feat is None:
            role = 'student' if s_feat is None else 'teacher'
            if term['source'] == 'pooled':
                raise RuntimeError(
                    f'Term {name!r}: the {role} neck did not run during the '
                    'forward.')
            stage = term[f'{role}_stage']
            raise RuntimeError(
                f'Term {name!r}: {role} stage {stage or "<last>"} was not '
                'recorded during the forward; choose a stage that the '
                'backbone runs.')
        if not self._shapes_checked:
            self._check_feature_pair(name, s_feat, t_feat)
        s = s_feat.float()
        if term['connector'] is not None:
            s = self.connectors[term['connector']](s)
        if s.shape != t_feat.shape:
            raise ValueError(
                f'Term {name!r}: the student feature is {tuple(s.shape)} '
                f'after the connector and the teacher feature '
                f'{tuple(t_feat.shape)}.')
        return s, t_feat.float()

    def recorded_shapes(self, inputs: Tensor) -> Tuple[dict, dict]:
        """Shapes of what the hooks record for ``inputs`` (for debugging
        a configuration): ``(student, teacher)`` dicts key -> shape."""
        with torch.no_grad():
            with self._recorders['student'].recording() as rec:
                self.student(inputs, mode='tensor')
            s = {k: tuple(v.shape) for k, v in self._outputs(
                'student', rec).items()}
        t = {k: tuple(v.shape) for k, v in self.teacher_forward(
            inputs).items()}
        return s, t
