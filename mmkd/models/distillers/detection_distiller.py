# Copyright (c) OpenMMLab. All rights reserved.
"""Distillation of two-stage mmdet detectors (Faster R-CNN and relatives).

The distiller owns the RoI sampling loop of ``StandardRoIHead.loss`` so that
the teacher's RoI extractor and box head score exactly the RoIs the student
sampled (same boxes, same order), with the labels that the student's box
head trains on (``docs/architecture.md`` follows a term through it).

Pitfall (caffe-style teachers): the RoIs are in the coordinates of the
student's padded, normalised input, so the teacher must see that same tensor.
When the teacher's ``data_preprocessor`` normalises differently (e.g. a
caffe teacher: BGR, std 1), the distiller converts the student's normalised
batch to the teacher's normalisation (undo the student's mean/std and channel
order, apply the teacher's). Padding is already in place, so only the padded
border's value differs from what the teacher would have seen alone.

What it shares with :class:`~mmkd.models.SingleStageDistiller` (FPN terms,
connector and class checks, cost-matrix size, non-finite teacher reports)
lives in :class:`~mmkd.models.distillers.detector_distiller_base.
BaseDetectorDistiller`.
"""
import copy
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmkd.registry import MODELS
from ..adapters import detector_kind, roi_forward, select_deltas
from .base_distiller import LossValue
from .detector_distiller_base import FPN_KEYS, BaseDetectorDistiller
from .step import StepContext
from .terms import Source, TermKey

__all__ = ['DetectionDistiller', 'DETECTION_SOURCES']

#: Sources a distillation term can read: what the loss receives, and the
#: keys each takes.
DETECTION_SOURCES = {
    'roi_cls': Source(
        'RoI classification logits (R, num_classes + 1) of the student\'s '
        'sampled RoIs, teacher logits on the same RoIs, and the RoI labels '
        '(background = num_classes) for losses that accept labels',
        keys=('rois', )),
    'roi_reg': Source(
        'RoI box-regression deltas of foreground RoIs (4 per RoI, the '
        "RoI's class for class-specific heads)"),
    'roi_feat': Source('RoIAlign features (R, C, 7, 7) of the same RoIs',
                       keys=('connector', 'rois')),
    'fpn': Source(
        'neck (FPN) outputs, one loss call per level, weighted sum',
        keys=FPN_KEYS),
}
#: Which teacher RoI output each RoI source reads.
_ROI_OUTPUTS = dict(
    roi_cls='cls_score', roi_reg='bbox_pred', roi_feat='bbox_feats')


def _rpn_like_losses(rpn_losses: dict) -> dict:
    """Rename RPN losses as ``TwoStageDetector.loss`` does."""
    for key in list(rpn_losses):
        if 'loss' in key and 'rpn' not in key:
            rpn_losses[f'rpn_{key}'] = rpn_losses.pop(key)
    return rpn_losses


@MODELS.register_module()
class DetectionDistiller(BaseDetectorDistiller):
    """Knowledge distillation between two-stage mmdet detectors.

    The student trains with its own losses (logged as ``student.<mmdet
    key>``) plus the distillation terms (``distill.<name>``). Every term is
    computed in float32 outside autocast.

    Example (toy configs in ``configs/toy_digits``)::

        model = dict(
            type='mmkd.DetectionDistiller',
            student=student_model_dict,
            teacher='mmdet::faster_rcnn/faster-rcnn_r101_fpn_ms-3x_coco.py',
            teacher_ckpt='https://download.openmmlab.com/...pth',
            distill_losses=dict(
                loss_wkd_l=dict(type='mmkd.WKDLogitLoss', ...),
                loss_wkd_f=dict(type='mmkd.WKDFeatureLoss', grid=4)),
            distill_inputs=dict(
                loss_wkd_l='roi_cls',
                loss_wkd_f=dict(source='roi_feat', connector='roi')),
            connectors=dict(
                roi=dict(type='mmkd.ConvConnector', in_channels=128,
                         out_channels=256)))

    Args:
        student (dict | nn.Module): A two-stage detector with a
            ``StandardRoIHead`` (single box head).
        teacher (dict | str | nn.Module): Same kind of detector, or the path
            of its config (``'mmdet::...'`` works).
        teacher_ckpt (str, optional): Teacher weights.
        distill_losses (dict, optional): Term name -> loss config.
        distill_inputs (dict, optional): Term name -> what the term reads:
            a source name (see :data:`DETECTION_SOURCES`: ``'roi_cls'``,
            ``'roi_reg'``,
            ``'roi_feat'``, ``'fpn'``) or a dict with ``source`` and
            optionally ``connector`` (a key of ``connectors``, applied to the
            student side), ``levels`` (FPN level indices, default all),
            ``level_weights`` (default 1 per level), ``rois`` (``'all'``
            sampled RoIs, the default, or ``'fg'`` for the foreground ones
            only, cheaper but 2.7 mAP worse for WKD-F in the toy study;
            ``roi_cls``/``roi_feat``) and ``scheduled`` (whether
            :meth:`set_distill_weight_scale` affects it, default True).
            Every term needs an entry.
        connectors (dict, optional): Name -> connector config.
        teacher_ckpt_strict (bool): See :class:`~mmkd.models.BaseDistiller`.
        teacher_trainable (bool): Not supported for detection yet.
        save_teacher (bool): Keep the teacher in checkpoints.
        data_preprocessor (dict, optional): Defaults to the student's.
        init_cfg (dict, optional): Initialisation config.
    """

    SOURCES = DETECTION_SOURCES
    TERM_KEYS = dict(
        BaseDetectorDistiller.TERM_KEYS,
        rois=TermKey(default='all', choices=('all', 'fg')))
    #: Kept for one release: the public home is
    #: :func:`mmkd.models.adapters.roi_forward`.
    roi_forward = staticmethod(roi_forward)

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------
    def _check_detector_kind(self, model: nn.Module, role: str) -> None:
        """A two-stage detector with a single-stage RoI box head."""
        if detector_kind(model) == 'single_stage':
            raise TypeError(
                f'The {role} ({type(model).__name__}) is a single-stage '
                f'detector (dense head {type(model.bbox_head).__name__}); '
                "use type='mmkd.SingleStageDistiller' for it. "
                'DetectionDistiller supports two-stage detectors with a '
                'StandardRoIHead (e.g. Faster R-CNN).')
        roi_head = getattr(model, 'roi_head', None)
        if roi_head is None or not getattr(roi_head, 'with_bbox', False):
            raise TypeError(
                f'The {role} ({type(model).__name__}) has no RoI box head; '
                'DetectionDistiller supports two-stage detectors with a '
                'StandardRoIHead (e.g. Faster R-CNN).')
        if isinstance(roi_head.bbox_head, nn.ModuleList):
            raise NotImplementedError(
                f'The {role} has a multi-stage RoI head '
                f'({type(roi_head).__name__}); only single-stage '
                'StandardRoIHead-style heads are supported.')
        if role == 'student' and not hasattr(roi_head, 'bbox_sampler'):
            raise ValueError(
                'The student has no RoI assigner/sampler: give it a '
                'train_cfg with an rcnn section (as mmdet configs do).')

    @property
    def num_classes(self) -> int:
        """Foreground classes of the student's box head."""
        return self.student.roi_head.bbox_head.num_classes

    def _check_compatibility(self) -> None:
        """Teacher vs student for every term (classes, coders, RoI sizes,
        FPN levels, widths, cost matrices)."""
        s_head = self.student.roi_head.bbox_head
        t_head = self.teacher.roi_head.bbox_head
        for name, term in self.distill_inputs.items():
            source = term['source']
            if source in ('roi_cls', 'roi_reg'):
                self._check_num_classes(name, source, s_head.num_classes,
                                        t_head.num_classes,
                                        'RoI head outputs')
            if source == 'roi_reg' and (s_head.reg_decoded_bbox !=
                                        t_head.reg_decoded_bbox):
                raise ValueError(
                    f'Term {name!r}: student and teacher box heads encode '
                    'regression differently (reg_decoded_bbox '
                    f'{s_head.reg_decoded_bbox} vs '
                    f'{t_head.reg_decoded_bbox}); set the student\'s '
                    'roi_head.bbox_head.reg_decoded_bbox to '
                    f'{t_head.reg_decoded_bbox}, as the teacher.')
            if source == 'roi_reg':
                self._check_bbox_coders(name, s_head, t_head)
            if source == 'roi_feat':
                s_ext = self.student.roi_head.bbox_roi_extractor
                t_ext = self.teacher.roi_head.bbox_roi_extractor
                self.check_connector(name,
                                     getattr(s_ext, 'out_channels', None),
                                     getattr(t_ext, 'out_channels', None),
                                     'RoI features')
                s_size = self._roi_size(s_ext)
                t_size = self._roi_size(t_ext)
                if s_size and t_size and s_size != t_size:
                    raise ValueError(
                        f'Term {name!r}: RoI feature sizes differ (student '
                        f'{s_size}, teacher {t_size}); set the same '
                        'roi_layer.output_size.')
            if source == 'fpn':
                self._check_fpn_term(name, term)

    @staticmethod
    def _coder_spec(head: nn.Module) -> dict:
        """Type, ``target_means`` and ``target_stds`` of a box coder."""
        coder = getattr(head, 'bbox_coder', None)
        spec = dict(type=type(coder).__name__)
        for key, attr in (('target_means', 'means'), ('target_stds',
                                                      'stds')):
            value = getattr(coder, attr, None)
            if value is not None:
                spec[key] = tuple(float(v) for v in value)
        return spec

    def _check_bbox_coders(self, name: str, s_head: nn.Module,
                           t_head: nn.Module) -> None:
        """The raw deltas of both heads must be in the same encoding."""
        s_spec = self._coder_spec(s_head)
        t_spec = self._coder_spec(t_head)
        if s_spec != t_spec:

            def fmt(spec: dict) -> str:
                return ', '.join(f'{k}={v!r}' for k, v in spec.items())

            raise ValueError(
                f'Term {name!r} compares raw box-regression deltas, but the '
                'student and teacher box heads encode them differently: '
                f'student bbox_coder {fmt(s_spec)}, teacher bbox_coder '
                f'{fmt(t_spec)}. Give the student the teacher\'s coder: '
                'roi_head=dict(bbox_head=dict(bbox_coder=dict('
                f'{fmt(t_spec)}))) in the student config.')

    @staticmethod
    def _roi_size(extractor: nn.Module) -> Optional[Tuple[int, int]]:
        layers = getattr(extractor, 'roi_layers', None)
        if not layers:
            return None
        size = getattr(layers[0], 'output_size', None)
        if size is None:
            return None
        return tuple(size) if isinstance(size, (tuple, list)) else (size,
                                                                    size)

    # ------------------------------------------------------------------
    # the forward pass
    # ------------------------------------------------------------------
    def _student_rpn(self, x: Tuple[Tensor], data_samples: list,
                     losses: dict) -> list:
        """RPN losses and proposals, as in ``TwoStageDetector.loss``."""
        student = self.student
        if not getattr(student, 'with_rpn', False):
            if data_samples[0].get('proposals', None) is None:
                raise ValueError('The student has no RPN and the data samples '
                                 'carry no proposals.')
            return [ds.proposals for ds in data_samples]
        proposal_cfg = student.train_cfg.get('rpn_proposal',
                                             student.test_cfg.rpn)
        rpn_data_samples = copy.deepcopy(data_samples)
        for ds in rpn_data_samples:
            ds.gt_instances.labels = torch.zeros_like(ds.gt_instances.labels)
        rpn_losses, rpn_results_list = student.rpn_head.loss_and_predict(
            x, rpn_data_samples, proposal_cfg=proposal_cfg)
        losses.update(_rpn_like_losses(rpn_losses))
        return rpn_results_list

    def sample_rois(self, x: Tuple[Tensor], rpn_results_list: list,
                    data_samples: list) -> list:
        """Assign and sample once with the student's assigner and sampler
        (``StandardRoIHead.loss`` steps 1-2). Mutates ``rpn_results_list``
        like mmdet does (``bboxes`` -> ``priors``)."""
        from mmdet.models.utils import unpack_gt_instances
        roi_head = self.student.roi_head
        gts, gts_ignore, _ = unpack_gt_instances(data_samples)
        sampling_results = []
        for i, rpn_results in enumerate(rpn_results_list):
            rpn_results.priors = rpn_results.pop('bboxes')
            assign_result = roi_head.bbox_assigner.assign(
                rpn_results, gts[i], gts_ignore[i])
            sampling_results.append(
                roi_head.bbox_sampler.sample(
                    assign_result,
                    rpn_results,
                    gts[i],
                    feats=[lvl[i][None] for lvl in x]))
        return sampling_results

    def _student_roi(self, x: Tuple[Tensor], sampling_results: list,
                     data_samples: list, losses: dict) -> dict:
        from mmdet.models.utils import unpack_gt_instances
        from mmdet.structures.bbox import bbox2roi
        roi_head = self.student.roi_head
        bbox_results = roi_head.bbox_loss(x, sampling_results)
        losses.update(bbox_results['loss_bbox'])
        if getattr(roi_head, 'with_mask', False):
            gts = unpack_gt_instances(data_samples)[0]
            mask_results = roi_head.mask_loss(x, sampling_results,
                                              bbox_results['bbox_feats'], gts)
            losses.update(mask_results['loss_mask'])
        labels = roi_head.bbox_head.get_targets(
            sampling_results, roi_head.train_cfg, concat=True)[0]
        return dict(
            rois=bbox2roi([res.priors for res in sampling_results]),
            labels=labels,
            cls_score=bbox_results['cls_score'],
            bbox_pred=bbox_results['bbox_pred'],
            bbox_feats=bbox_results['bbox_feats'])

    def loss(self, inputs: Tensor, data_samples: list) -> dict:
        """Student losses (``student.*``) and distillation terms
        (``distill.*``) for one batch.

        The teacher's backbone and neck run once, under ``no_grad``, on the
        same preprocessed batch; its RoI head runs on the student's RoIs.
        """
        x_s = self.student.extract_feat(inputs)
        student_losses: dict = {}
        rpn_results_list = self._student_rpn(x_s, data_samples,
                                             student_losses)
        sampling_results = self.sample_rois(x_s, rpn_results_list,
                                            data_samples)
        roi = self._student_roi(x_s, sampling_results, data_samples,
                                student_losses)
        ctx = StepContext(inputs, x_s[0], dict(x_s=x_s, roi=roi),
                          data_samples)
        losses = self.add_prefix(student_losses, 'student.')
        losses.update(self.add_prefix(self.distill_step(ctx), 'distill.'))
        return losses

    def _run_teacher(self, ctx: StepContext, t_inputs: Tensor) -> dict:
        """The teacher's neck outputs (for ``'fpn'`` terms) and its RoI
        head's outputs on the student's RoIs (those the terms read; the
        others are dropped at once, so they do not add to the step's
        peak), with a mask of the RoIs where all of them are finite."""
        sources = {t['source'] for t in self.distill_inputs.values()}
        x_t = self.teacher.extract_feat(t_inputs)
        keys = [_ROI_OUTPUTS[s] for s in _ROI_OUTPUTS if s in sources]
        if not keys:
            return dict(x_t=x_t, t_roi=None, valid=None)
        roi = ctx.student['roi']
        t_roi = roi_forward(self.teacher.roi_head, x_t, roi['rois'])
        t_roi = {key: t_roi[key] for key in keys}
        valid = torch.ones_like(roi['labels'], dtype=torch.bool)
        for value in t_roi.values():
            # a row sum is finite iff the row is (a reduction, not a
            # map-sized mask)
            valid &= torch.isfinite(value.flatten(1).sum(1))
        ctx.skipped += int((~valid).sum())
        return dict(
            x_t=x_t if 'fpn' in sources else None, t_roi=t_roi, valid=valid)

    def _term(self, name: str, term: dict, ctx: StepContext,
              teacher: dict) -> LossValue:
        """An ``'fpn'`` term or an RoI term (logits, deltas, features)."""
        if term['source'] == 'fpn':
            return self._fpn_term(name, term, ctx, teacher['x_t'])
        roi, t_roi = ctx.student['roi'], teacher['t_roi']
        source, labels, valid = term['source'], roi['labels'], \
            teacher['valid']
        if term['rois'] == 'fg':
            valid = valid & (labels >= 0) & (labels < self.num_classes)
        if source == 'roi_cls':
            if not bool(valid.any()):
                return self._zero(roi['cls_score'])
            return self._call_loss(name, roi['cls_score'][valid].float(),
                                   t_roi['cls_score'][valid].float(),
                                   labels[valid])
        if source == 'roi_reg':
            fg = valid & (labels >= 0) & (labels < self.num_classes)
            if not bool(fg.any()):
                return self._zero(roi['bbox_pred'])
            s = select_deltas(self.student.roi_head.bbox_head,
                              roi['bbox_pred'], labels, fg)
            t = select_deltas(self.teacher.roi_head.bbox_head,
                              t_roi['bbox_pred'], labels, fg)
            return self._call_loss(name, s.float(), t.float())
        # roi_feat
        connector = term['connector']
        if not bool(valid.any()):
            return self._zero(roi['bbox_feats'], connector)
        s, t = roi['bbox_feats'], t_roi['bbox_feats']
        if not bool(valid.all()):  # a mask copies the (R, C, 7, 7) maps
            s, t = s[valid], t[valid]
        s = s.float()
        if connector is not None:
            s = self.connectors[connector](s)
        return self._call_loss(name, s, t.float())
