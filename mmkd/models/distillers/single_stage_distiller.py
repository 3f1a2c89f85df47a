# Copyright (c) OpenMMLab. All rights reserved.
"""Distillation of one-stage mmdet detectors (RetinaNet, GFL, FCOS, ATSS,
RTMDet: ``SingleStageDetector`` subclasses with a dense head).

The distiller runs the student's head once (``outs = bbox_head(x)``) and
hands the same ``outs`` to ``bbox_head.loss_by_feat`` for the student's own
losses, exactly as mmdet's ``BaseDenseHead.loss`` does; the distillation
terms read the same ``outs``. The teacher runs once per step under
``no_grad`` on the same preprocessed batch (converted to its normalisation,
see :meth:`~mmkd.models.BaseDistiller.teacher_inputs`); its head outputs are
compared with the student's at the same priors, which is why both heads
must share the prior generator (strides, anchor sizes/scales/ratios) and
produce the same feature-map sizes (checked, with both values in the
error).

Which priors are positive comes from the student head's own target
assignment (:func:`dense_prior_labels`): ``AnchorHead.get_targets`` for
RetinaNet-like heads, the ATSS assigner path of ``ATSSHead``/``GFLHead``,
``FCOSHead.get_targets`` for FCOS, and for RTMDet its dynamic soft-label
assignment on the student's detached outputs. The assignment runs a second
time for the distiller (``loss_by_feat`` does not return it); these
assigners are deterministic functions of their inputs, so both runs agree.
The cost is that of the assignment: IoUs between priors and boxes, small
next to the networks, except RTMDet's, whose cost matrix spans valid priors
x boxes x classes and is paid twice per step.

What it shares with :class:`~mmkd.models.DetectionDistiller` (FPN terms,
connector and class checks, cost-matrix size, non-finite teacher reports)
lives in :class:`~mmkd.models.distillers.detector_distiller_base.
BaseDetectorDistiller`.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmkd.losses.sigmoid_categorical import (SIGMOID_CATEGORICAL_MODES,
                                             sigmoid_to_categorical_logits)
from mmkd.registry import MODELS
from ..adapters import (dense_label_getter, dense_prior_labels,
                        detector_kind, flatten_dense, gt_region_masks,
                        prior_spec)
from .base_distiller import LossValue
from .detector_distiller_base import FPN_KEYS, BaseDetectorDistiller
from .step import StepContext
from .terms import Source, TermKey

__all__ = ['SingleStageDistiller', 'SINGLE_STAGE_SOURCES']

#: Sources a distillation term can read: what the loss receives, and the
#: keys each takes.
SINGLE_STAGE_SOURCES = {
    'dense_cls': Source(
        'class logits of student and teacher at the same priors, flattened '
        'over images and levels and converted from C sigmoid logits to '
        'C + 1 categorical logits (background last; key `categorical`), at '
        "the priors chosen by `locations` ('pos', 'all' or 'teacher'), plus "
        "the student's per-prior labels (background = num_classes) for "
        'losses that accept labels',
        keys=('locations', 'score_thr', 'categorical')),
    'dense_box': Source(
        "GFL-style box-edge distributions at the student's positive priors: "
        'bbox_pred logits reshaped to (M * 4, reg_max + 1), as LDHead does',
        keys=('box_weight', )),
    'fpn': Source(
        'neck (FPN) outputs, one loss call per level, weighted sum; '
        "`region='gt'` zeroes both sides outside the ground-truth boxes",
        keys=FPN_KEYS + ('region', )),
}
#: Values of the ``locations`` key of ``'dense_cls'`` terms.
LOCATIONS = ('pos', 'all', 'teacher')
#: Default ``score_thr`` of ``locations='teacher'``.
DEFAULT_SCORE_THR = 0.3
#: Heads with GFL-style box distributions, for messages.
BOX_DISTRIBUTION_HEADS = ('GFLHead, LDHead and other heads with reg_max and '
                          'an Integral (integral)')


@MODELS.register_module()
class SingleStageDistiller(BaseDetectorDistiller):
    """Knowledge distillation between one-stage mmdet detectors.

    For ``SingleStageDetector`` subclasses with a dense head (RetinaNet,
    GFL, FCOS, ATSS, RTMDet). The student trains with its own losses
    (logged as ``student.<mmdet key>``, computed from the same head outputs
    the terms read) plus the distillation terms (``distill.<name>``), each
    computed in float32 outside autocast; ``distill.nonfinite_teacher``
    counts the priors and FPN levels skipped because the teacher gave
    NaN/inf.

    Sources (:data:`SINGLE_STAGE_SOURCES`) and their keys:

    * ``'dense_cls'``: class logits of student and teacher at the same
      priors, ``(M, C)`` flattened over images and levels, then converted
      on both sides to ``(M, C + 1)`` categorical logits with the
      background last (:func:`~mmkd.losses.sigmoid_to_categorical_logits`,
      key ``categorical``: ``'exclusive'``, the default, is
      ``softmax([z, 0])``, the exact categorical of the head's independent
      sigmoids conditioned on at most one class being on; ``'normalized'``
      the heuristic alternative). So WKD-L with a ``(C + 1, C + 1)`` cost
      matrix (background last, as for Faster R-CNN), mmkd.KDLoss and
      mmkd.DKDLoss run unchanged. Losses whose forward takes ``labels``
      also get the student's per-prior labels (background =
      ``num_classes``), for WKD-L's target separation. Key ``locations``:

      - ``'pos'`` (default): the student's positive priors, from its head's
        own target assignment (:func:`dense_prior_labels`); the priors the
        student's classification loss pushes towards a class. The labels
        of every location mode come from that assignment, which is
        supported for RetinaNet-like anchor heads, ATSS, GFL, FCOS and
        RTMDet, whose dynamic soft-label assignment is rerun on the
        student's detached outputs as its own loss does
        (:data:`SUPPORTED_LABEL_HEADS`); other heads raise
        ``NotImplementedError`` for ``'dense_cls'``/``'dense_box'`` and
        support ``'fpn'`` only.
      - ``'teacher'``: priors where the teacher's max sigmoid score is at
        least ``score_thr`` (default 0.3): where the teacher sees an
        object, including objects near but outside the student's
        positives. 0.3 sits where trained RetinaNet/GFL teachers score
        their true detections (QFL scores are IoU-like, RetinaNet's
        focal-loss scores are low) and well above the 0.05 test-time
        threshold, so the selection stays a small multiple of the
        objects. Their labels are the student's (background where the
        student's assignment has none).
      - ``'all'``: every prior, each weighted by the teacher's max sigmoid
        score (the loss gets ``weight`` and ``avg_factor = sum of
        weights``, so the value is a weighted mean): without it the
        thousands of background priors per image, which a trained teacher
        scores near 0, would drown the objects. Needs a loss whose forward
        takes ``weight`` (mmkd.KDLoss, mmkd.WKDLogitLoss). Memory grows
        with all priors x (C + 1); mind COCO-size inputs.

    * ``'dense_box'``: GFL-style box-edge distributions at the student's
      positive priors: ``bbox_pred`` of both heads reshaped to
      ``(M * 4, reg_max + 1)`` bin logits, as ``LDHead`` does (for
      mmkd.WassersteinBoxLoss or a KL). Both heads need ``reg_max`` and an
      ``integral`` (GFLHead, LDHead) with the same ``reg_max``. Key
      ``box_weight``: ``None`` (default, plain mean over edges) or
      ``'student_score'`` (LD's weighting: each edge weighted by the
      student's max sigmoid class score at its prior, detached).

    * ``'fpn'``: the neck outputs, as in DetectionDistiller (keys
      ``levels``, ``level_weights``, ``connector``), plus ``region``:
      ``None`` (default, whole maps) or ``'gt'``: both the student's
      (after the connector) and the teacher's maps are multiplied by a
      per-level mask of the cells overlapping a ground-truth box
      (:func:`gt_region_masks`, strides from the student head's prior
      generator), so the loss still receives (N, C, H, W) maps and any
      feature loss (FitNet/MSE, WKD-F) works unchanged, but only object
      regions differ between the sides. Note what the zeros do: a mean
      reduction (MSE) averages over all cells, so the value scales with
      the object area; WKD-F's Gaussians include the zero cells on both
      sides (they match exactly), so grid cells with more object area
      weigh more. Images without boxes contribute nothing.

    Every key is checked against its source; ``connector`` applies to
    ``'fpn'`` only.

    Example::

        model = dict(
            type='mmkd.SingleStageDistiller',
            student=gfl_r18_model_dict,
            teacher='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py',
            teacher_ckpt='https://download.openmmlab.com/...pth',
            distill_losses=dict(
                loss_wkd_l=dict(type='mmkd.WKDLogitLoss', ...),
                loss_box=dict(type='mmkd.WassersteinBoxLoss'),
                loss_fpn=dict(type='mmkd.WKDFeatureLoss', grid=4)),
            distill_inputs=dict(
                loss_wkd_l=dict(source='dense_cls', locations='pos'),
                loss_box='dense_box',
                loss_fpn=dict(source='fpn', region='gt')))

    Args:
        student (dict | nn.Module): A single-stage detector with a dense
            head (and the ``train_cfg`` of its mmdet config).
        teacher (dict | str | nn.Module): Same kind of detector, or the path
            of its config (``'mmdet::...'`` works).
        teacher_ckpt (str, optional): Teacher weights.
        distill_losses (dict, optional): Term name -> loss config.
        distill_inputs (dict, optional): Term name -> a source name or a
            dict with ``source`` and the keys above, plus ``scheduled``
            (whether :meth:`set_distill_weight_scale` affects it, default
            True). Every term needs an entry.
        connectors (dict, optional): Name -> connector config.
        teacher_ckpt_strict (bool): See :class:`~mmkd.models.BaseDistiller`.
        teacher_trainable (bool): Not supported yet.
        save_teacher (bool): Keep the teacher in checkpoints.
        data_preprocessor (dict, optional): Defaults to the student's.
        init_cfg (dict, optional): Initialisation config.
    """

    SOURCES = SINGLE_STAGE_SOURCES
    TERM_KEYS = dict(
        BaseDetectorDistiller.TERM_KEYS,
        locations=TermKey(default='pos', choices=LOCATIONS),
        score_thr=TermKey(
            check=lambda v: not isinstance(v, bool) and isinstance(
                v, (int, float)) and 0 < v <= 1,
            expected='a number in (0, 1] (a sigmoid score)'),
        categorical=TermKey(
            default='exclusive', choices=SIGMOID_CATEGORICAL_MODES),
        box_weight=TermKey(choices=(None, 'student_score')),
        region=TermKey(choices=(None, 'gt')))
    NONFINITE_UNITS = 'priors/FPN levels'
    COST_LOGITS = "'dense_cls' logits (C sigmoid classes + background)"

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------
    def _check_detector_kind(self, model: nn.Module, role: str) -> None:
        """A single-stage detector with a dense head (and, for an anchor-head
        student, a ``train_cfg``)."""
        kind = detector_kind(model)
        if kind == 'two_stage':
            raise TypeError(
                f'The {role} ({type(model).__name__}) is a two-stage '
                "detector (it has a roi_head); use type='mmkd."
                "DetectionDistiller' for it. SingleStageDistiller supports "
                'single-stage detectors with a dense head (RetinaNet, GFL, '
                'FCOS, ATSS, RTMDet).')
        if kind != 'single_stage':
            raise TypeError(
                f'The {role} ({type(model).__name__}) has no dense '
                'bbox_head (an mmdet BaseDenseHead); SingleStageDistiller '
                'supports single-stage detectors with one (RetinaNet, GFL, '
                'FCOS, ATSS, RTMDet).')
        from mmdet.models.dense_heads import AnchorHead
        if role == 'student' and isinstance(model.bbox_head, AnchorHead) \
                and not model.bbox_head.train_cfg:
            # anchor heads build their assigner from it (FCOS needs none)
            raise ValueError(
                'The student has no train_cfg, so its '
                f'{type(model.bbox_head).__name__} has no assigner for its '
                'own losses; give it the train_cfg of its mmdet config '
                '(assigner, allowed_border, pos_weight).')

    def _parse_term(self, name: str, term: dict) -> dict:
        """``score_thr`` belongs to ``locations='teacher'``; weighted
        selections need a loss that takes a ``weight``."""
        if term['score_thr'] is not None and term['locations'] != 'teacher':
            raise ValueError(
                f"distill_inputs[{name!r}]: 'score_thr' applies to "
                f"locations='teacher', not {term['locations']!r}.")
        if term['source'] == 'dense_cls' and term['locations'] == 'all':
            self._require_weight(name, "locations='all'")
        if term['box_weight'] is not None:
            self._require_weight(name, "box_weight='student_score'")
        return dict(score_thr=DEFAULT_SCORE_THR if term['score_thr'] is None
                    else float(term['score_thr']))

    @property
    def num_classes(self) -> int:
        """Foreground classes of the student's dense head."""
        return self.student.bbox_head.num_classes

    def _cost_matrix_hint(self, shape: Tuple[int, ...]) -> str:
        n = self.num_classes + 1
        if shape == (n - 1, n - 1):
            return (" It looks like a matrix without the background class; "
                    "'dense_cls' logits get a background column (the last) "
                    'from the categorical conversion, so the matrix needs '
                    'one too.')
        return ''

    def _check_compatibility(self) -> None:
        """Teacher vs student for every term (classes, priors, sigmoid
        outputs, box distributions, FPN levels, widths, cost matrices)."""
        s_head = self.student.bbox_head
        t_head = self.teacher.bbox_head
        for name, term in self.distill_inputs.items():
            source = term['source']
            if source in ('dense_cls', 'dense_box'):
                dense_label_getter(s_head)  # raises for unsupported heads
                self._check_priors(name, source, s_head, t_head)
            if source == 'dense_cls':
                self._check_num_classes(name, source, s_head.num_classes,
                                        t_head.num_classes,
                                        'dense class outputs')
                for role, head in (('student', s_head), ('teacher',
                                                         t_head)):
                    if not getattr(head, 'use_sigmoid_cls', False):
                        raise ValueError(
                            f"Term {name!r} ('dense_cls') converts sigmoid "
                            f'class logits, but the {role} head '
                            f'{type(head).__name__} has softmax outputs '
                            '(use_sigmoid_cls=False); use sigmoid heads '
                            '(RetinaNet, GFL, FCOS, ATSS, RTMDet).')
            if source == 'dense_box':
                self._check_box_heads(name, s_head, t_head)
            if source == 'fpn':
                self._check_fpn_term(name, term)
                n_levels = len(s_head.prior_generator.strides)
                n_outs = getattr(self.student.neck, 'num_outs', n_levels)
                if term['region'] == 'gt' and n_levels != n_outs:
                    raise ValueError(
                        f"Term {name!r}: region='gt' takes the level "
                        "strides from the student head's prior generator "
                        f'({n_levels} levels), but the neck has {n_outs} '
                        'outputs.')

    def _check_priors(self, name: str, source: str, s_head: nn.Module,
                      t_head: nn.Module) -> None:
        """Both heads must place the same priors at the same places."""
        s_spec, t_spec = prior_spec(s_head), prior_spec(t_head)
        if s_spec == t_spec:
            return
        diff = [
            f'{key}: student {s_spec.get(key)!r} vs teacher '
            f'{t_spec.get(key)!r}' for key in sorted(set(s_spec) | set(t_spec))
            if s_spec.get(key) != t_spec.get(key)
        ]
        raise ValueError(
            f'Term {name!r} ({source}) compares the heads at the same '
            'priors, but their prior generators differ: ' + '; '.join(diff) +
            ". Give the student the teacher's anchor_generator/"
            'prior_generator settings (strides, octave_base_scale, '
            'scales_per_octave, ratios).')

    def _check_box_heads(self, name: str, s_head: nn.Module,
                         t_head: nn.Module) -> None:
        """Both heads need box-edge distributions over the same bins."""
        for role, head in (('student', s_head), ('teacher', t_head)):
            if getattr(head, 'reg_max', None) is None or \
                    getattr(head, 'integral', None) is None:
                raise ValueError(
                    f"Term {name!r} ('dense_box') reads GFL-style box-edge "
                    f'distributions, but the {role} head '
                    f'{type(head).__name__} has none; heads that have them: '
                    f'{BOX_DISTRIBUTION_HEADS}.')
        if s_head.reg_max != t_head.reg_max:
            raise ValueError(
                f"Term {name!r} ('dense_box'): the student head has "
                f'reg_max={s_head.reg_max} and the teacher '
                f'reg_max={t_head.reg_max}; set the student\'s '
                f'bbox_head.reg_max to {t_head.reg_max}, as the teacher.')

    @staticmethod
    def _check_featmaps(s_maps: Sequence[Tensor],
                        t_maps: Sequence[Tensor]) -> None:
        """Same number and sizes of head feature maps (runtime)."""
        s_sizes = [tuple(m.shape[-2:]) for m in s_maps]
        t_sizes = [tuple(m.shape[-2:]) for m in t_maps]
        if s_sizes != t_sizes:
            raise ValueError(
                f"The student head's feature maps are {s_sizes} and the "
                f"teacher's {t_sizes}; dense terms compare both at the same "
                'priors, so both necks must give the same levels (check '
                'start_level, num_outs and add_extra_convs).')

    # ------------------------------------------------------------------
    # the forward pass
    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: list) -> dict:
        """Student losses (``student.*``) and distillation terms
        (``distill.*``) for one batch.

        The student's head runs once; its outputs give both its own losses
        (``bbox_head.loss_by_feat``, as ``BaseDenseHead.loss``) and the
        distillation terms.
        """
        from mmdet.models.utils import unpack_gt_instances
        x_s = self.student.extract_feat(inputs)
        head = self.student.bbox_head
        outs = head(x_s)
        gts, gts_ignore, metas = unpack_gt_instances(data_samples)
        student_losses = head.loss_by_feat(*(outs + (gts, metas,
                                                     gts_ignore)))
        ctx = StepContext(
            inputs, x_s[0],
            dict(x_s=x_s, outs=outs, gts=gts, metas=metas,
                 gts_ignore=gts_ignore), data_samples)
        losses = self.add_prefix(student_losses, 'student.')
        losses.update(self.add_prefix(self.distill_step(ctx), 'distill.'))
        return losses

    def _run_teacher(self, ctx: StepContext, t_inputs: Tensor) -> dict:
        """The teacher's neck outputs (for ``'fpn'`` terms) and, for dense
        terms, its flattened head outputs, a mask of the priors where they
        are finite and the student's per-prior labels."""
        sources = {t['source'] for t in self.distill_inputs.values()}
        s_head, t_head = self.student.bbox_head, self.teacher.bbox_head
        outs = ctx.student['outs']
        x_t = self.teacher.extract_feat(t_inputs)
        out = dict(x_t=x_t if 'fpn' in sources else None)
        if not sources & {'dense_cls', 'dense_box'}:
            return out
        t_outs = t_head(x_t)
        self._check_featmaps(outs[0], t_outs[0])
        valid = None
        if 'dense_cls' in sources:
            out['cls'] = flatten_dense(t_outs[0], t_head.cls_out_channels)
            # a row sum is finite iff the row is
            valid = torch.isfinite(out['cls'].sum(-1))
        if 'dense_box' in sources:
            out['box'] = flatten_dense(t_outs[1], 4 * (t_head.reg_max + 1))
            finite = torch.isfinite(out['box'].sum(-1))
            valid = finite if valid is None else valid & finite
        out['valid'] = valid
        out['labels'] = dense_prior_labels(
            s_head, [m.shape[-2:] for m in outs[0]], ctx.student['gts'],
            ctx.student['metas'], ctx.student['gts_ignore'],
            ctx.inputs.device, preds=outs)
        ctx.skipped += int((~valid).sum())
        return out

    def _student_flat(self, ctx: StepContext, key: str) -> Tensor:
        """The student's class (``'cls'``) or box (``'box'``) outputs as
        (N, P, width), built once per step."""
        head, outs = self.student.bbox_head, ctx.student['outs']
        index, width = (0, head.cls_out_channels) if key == 'cls' else (
            1, 4 * (head.reg_max + 1))
        return ctx.cached(key, lambda: flatten_dense(outs[index], width))

    def _term(self, name: str, term: dict, ctx: StepContext,
              teacher: dict) -> LossValue:
        """An ``'fpn'`` term (masked to object regions with
        ``region='gt'``), a ``'dense_cls'`` or a ``'dense_box'`` term."""
        source = term['source']
        if source == 'fpn':
            masks = None
            if term['region'] == 'gt':
                masks = ctx.cached('gt_masks', lambda: gt_region_masks(
                    [x.shape[-2:] for x in ctx.student['x_s']],
                    self.student.bbox_head.prior_generator.strides,
                    ctx.student['gts'], ctx.inputs.device))
            return self._fpn_term(name, term, ctx, teacher['x_t'], masks)
        if source == 'dense_cls':
            return self._dense_cls_term(name, term,
                                        self._student_flat(ctx, 'cls'),
                                        teacher)
        weights = self._student_flat(ctx, 'cls') \
            if term['box_weight'] else None
        return self._dense_box_term(name, term,
                                    self._student_flat(ctx, 'box'), weights,
                                    teacher)

    def _positives(self, labels: Tensor) -> Tensor:
        """Mask of the priors assigned a foreground class."""
        return (labels >= 0) & (labels < self.num_classes)

    def _dense_cls_term(self, name: str, term: dict, s_cls: Tensor,
                        teacher: dict) -> LossValue:
        """``'dense_cls'``: select the priors, convert both sides to
        categorical logits, call the loss (weighted for ``'all'``)."""
        t_cls, labels, valid = teacher['cls'], teacher['labels'], \
            teacher['valid']
        locations = term['locations']
        score = None
        if locations == 'pos':
            select = valid & self._positives(labels)
        else:
            # the teacher's foreground confidence; NaN rows are not valid
            score = t_cls.float().sigmoid().amax(-1)
            select = valid if locations == 'all' else valid & (
                score >= term['score_thr'])
        if not bool(select.any()):
            return self._zero(s_cls)
        mode = term['categorical']
        s = sigmoid_to_categorical_logits(s_cls[select].float(), mode)
        t = sigmoid_to_categorical_logits(t_cls[select].float(), mode)
        weight = score[select] if locations == 'all' else None
        return self._call_loss(name, s, t, labels[select], weight)

    def _dense_box_term(self, name: str, term: dict, s_box: Tensor,
                        s_cls: Optional[Tensor], teacher: dict) -> LossValue:
        """``'dense_box'``: the box-edge bin logits of the positive priors,
        ``(M * 4, reg_max + 1)`` on both sides."""
        select = teacher['valid'] & self._positives(teacher['labels'])
        if not bool(select.any()):
            return self._zero(s_box)
        bins = self.student.bbox_head.reg_max + 1
        s = s_box[select].float().reshape(-1, bins)
        t = teacher['box'][select].float().reshape(-1, bins)
        weight = None
        if term['box_weight'] == 'student_score':
            # LD's weight: the student's (detached) max class score, one per
            # prior, repeated for its 4 edges
            weight = s_cls[select].detach().float().sigmoid().amax(-1)
            weight = weight.repeat_interleave(4)
        return self._call_loss(name, s, t, None, weight)
