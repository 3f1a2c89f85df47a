# Copyright (c) OpenMMLab. All rights reserved.
"""Distillation of two-stage mmdet detectors (Faster R-CNN and relatives).

The distiller owns the RoI sampling loop of ``StandardRoIHead.loss`` so that
the teacher's RoI extractor and box head score exactly the RoIs the student
sampled (same boxes, same order), with the labels that the student's box
head trains on. See ``docs``/``style_and_hook_points.md`` section 3.5 for the
recipe this follows.

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
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmkd.registry import MODELS
from .detector_distiller_base import (BaseDetectorDistiller, WithSkipped,
                                      detector_kind)

__all__ = ['DetectionDistiller']

#: Sources a distillation term can read, with what the loss receives.
SOURCES = {
    'roi_cls': 'RoI classification logits (R, num_classes + 1) of the '
    "student's sampled RoIs, teacher logits on the same RoIs, and the RoI "
    'labels (background = num_classes) for losses whose forward takes '
    '`labels`',
    'roi_reg': 'RoI box-regression deltas of foreground RoIs (4 per RoI, the '
    "RoI's class for class-specific heads)",
    'roi_feat': 'RoIAlign features (R, C, 7, 7) of the same RoIs',
    'fpn': 'neck (FPN) outputs, one loss call per level, weighted sum',
}


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
            a source name (see :data:`SOURCES`: ``'roi_cls'``, ``'roi_reg'``,
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

    SOURCES = SOURCES
    TERM_KEYS = ('source', 'connector', 'levels', 'level_weights',
                 'scheduled', 'rois')

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

    def _parse_term(self, name: str, spec: dict, source: str) -> dict:
        """RoI selection and FPN levels of one term (see
        :meth:`BaseDistiller._parse_distill_inputs`)."""
        if spec.get('connector') is not None and source in ('roi_cls',
                                                            'roi_reg'):
            raise ValueError(
                f'distill_inputs[{name!r}]: connectors apply to feature '
                f"sources ('roi_feat', 'fpn'), not {source!r}.")
        rois = spec.get('rois', 'all')
        if rois not in ('all', 'fg'):
            raise ValueError(
                f"distill_inputs[{name!r}]['rois'] must be 'all' or "
                f"'fg', but got {rois!r}.")
        if rois == 'fg' and source not in ('roi_cls', 'roi_feat'):
            raise ValueError(
                f"distill_inputs[{name!r}]: rois='fg' applies to "
                f"'roi_cls' and 'roi_feat' ('roi_reg' always uses the "
                f'foreground RoIs), not {source!r}.')
        return dict(self._parse_fpn_keys(name, spec, source), rois=rois)

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
                self._check_connector(name, term['connector'],
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
            if source == 'roi_cls':
                self._check_cost_matrix_of(name)

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
    @staticmethod
    def roi_forward(roi_head: nn.Module, x: Sequence[Tensor],
                    rois: Tensor) -> Dict[str, Tensor]:
        """Box-head forward on given RoIs through public modules.

        The same three steps as mmdet 3.3's protected
        ``StandardRoIHead._bbox_forward`` (pinned by a test).

        Returns:
            dict: ``cls_score`` (R, C+1), ``bbox_pred`` (R, 4 or 4C) and
            ``bbox_feats`` (R, C_roi, h, w).
        """
        extractor = roi_head.bbox_roi_extractor
        bbox_feats = extractor(x[:extractor.num_inputs], rois)
        if roi_head.with_shared_head:
            bbox_feats = roi_head.shared_head(bbox_feats)
        cls_score, bbox_pred = roi_head.bbox_head(bbox_feats)
        return dict(
            cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)

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
        losses = self.add_prefix(student_losses, 'student.')
        losses.update(
            self.add_prefix(self.distill_step(inputs, x_s, roi), 'distill.'))
        return losses

    def distill_step(self, inputs: Tensor, x_s: Tuple[Tensor],
                     roi: dict) -> dict:
        """Run the teacher and compute every distillation term.

        Args:
            inputs (Tensor): The preprocessed batch (N, 3, H, W).
            x_s (tuple[Tensor]): Student neck outputs.
            roi (dict): ``rois``, ``labels``, ``cls_score``, ``bbox_pred``
                and ``bbox_feats`` of the student's sampled RoIs.

        Returns:
            dict: Term name (or the keys of a dict-valued loss) -> value,
            plus ``nonfinite_teacher`` (count of skipped RoIs and levels).
        """
        if not self.distill_losses:
            return {}
        sources = {t['source'] for t in self.distill_inputs.values()}
        # The teacher outputs the terms read; the others are dropped as soon
        # as they are computed, so they do not add to the step's peak.
        roi_keys = [
            key for source, key in (('roi_cls', 'cls_score'),
                                    ('roi_reg', 'bbox_pred'),
                                    ('roi_feat', 'bbox_feats'))
            if source in sources
        ]

        def run_teacher(t_inputs: Tensor) -> WithSkipped:
            x_t = self.teacher.extract_feat(t_inputs)
            if not roi_keys:
                return dict(x_t=x_t, t_roi=None, valid=None), 0
            t_roi = self.roi_forward(self.teacher.roi_head, x_t, roi['rois'])
            t_roi = {key: t_roi[key] for key in roi_keys}
            valid = torch.ones_like(roi['labels'], dtype=torch.bool)
            for value in t_roi.values():
                if value is not None:
                    # a row sum is finite iff the row is (a reduction, not
                    # a map-sized mask)
                    valid &= torch.isfinite(value.flatten(1).sum(1))
            return dict(
                x_t=x_t if 'fpn' in sources else None, t_roi=t_roi,
                valid=valid), int((~valid).sum())

        def term_value(name: str, term: dict, teacher: dict) -> WithSkipped:
            if term['source'] == 'fpn':
                return self._fpn_term(name, term, x_s, teacher['x_t'])
            return self._roi_term(name, term, roi, teacher['t_roi'],
                                  teacher['valid']), 0

        return self._detector_terms(inputs, x_s[0], run_teacher, term_value)

    def _roi_term(self, name: str, term: dict, roi: dict, t_roi: dict,
                  valid: Tensor):
        source = term['source']
        labels = roi['labels']
        if term['rois'] == 'fg':
            valid = valid & (labels >= 0) & (labels < self.num_classes)
        if source == 'roi_cls':
            if not bool(valid.any()):
                return self._zero(roi['cls_score'], None)
            return self._call_loss(name, roi['cls_score'][valid].float(),
                                   t_roi['cls_score'][valid].float(),
                                   labels[valid])
        if source == 'roi_reg':
            fg = valid & (labels >= 0) & (labels < self.num_classes)
            if not bool(fg.any()):
                return self._zero(roi['bbox_pred'], None)
            s = self._select_deltas(self.student.roi_head.bbox_head,
                                    roi['bbox_pred'], labels, fg)
            t = self._select_deltas(self.teacher.roi_head.bbox_head,
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

    @staticmethod
    def _select_deltas(head: nn.Module, bbox_pred: Tensor, labels: Tensor,
                       mask: Tensor) -> Tensor:
        """The 4 (or box-dim) deltas each foreground RoI is trained on."""
        if head.reg_class_agnostic:
            return bbox_pred[mask]
        per_class = bbox_pred.view(bbox_pred.size(0), head.num_classes, -1)
        return per_class[mask, labels[mask]]
