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
"""
import copy
import logging
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

from mmkd.registry import MODELS
from .base_distiller import BaseDistiller, ModelSpec

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
class DetectionDistiller(BaseDistiller):
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
            only; ``roi_cls``/``roi_feat``) and ``scheduled`` (whether
            :meth:`set_distill_weight_scale` affects it, default True).
            Every term needs an entry.
        connectors (dict, optional): Name -> connector config.
        teacher_ckpt_strict (bool): See :class:`BaseDistiller`.
        teacher_trainable (bool): Not supported for detection yet.
        save_teacher (bool): Keep the teacher in checkpoints.
        data_preprocessor (dict, optional): Defaults to the student's.
        init_cfg (dict, optional): Initialisation config.
    """

    SOURCES = SOURCES
    TERM_KEYS = ('source', 'connector', 'levels', 'level_weights',
                 'scheduled', 'rois')

    def __init__(self,
                 student: ModelSpec,
                 teacher: ModelSpec,
                 teacher_ckpt: Optional[str] = None,
                 distill_losses: Optional[dict] = None,
                 distill_inputs: Optional[dict] = None,
                 connectors: Optional[dict] = None,
                 teacher_ckpt_strict: bool = True,
                 teacher_trainable: bool = False,
                 save_teacher: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if teacher_trainable:
            raise NotImplementedError(
                'teacher_trainable=True is not supported by '
                'DetectionDistiller: the teacher has no training losses here.')
        super().__init__(
            student=student,
            teacher=teacher,
            teacher_ckpt=teacher_ckpt,
            teacher_ckpt_strict=teacher_ckpt_strict,
            distill_losses=distill_losses,
            connectors=connectors,
            teacher_trainable=False,
            save_teacher=save_teacher,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self._check_detector(self.student, 'student')
        self._check_detector(self.teacher, 'teacher')
        self.distill_inputs = self._parse_distill_inputs(distill_inputs)
        self._check_compatibility()
        #: RoIs and FPN levels skipped because the teacher gave NaN/inf.
        self.nonfinite_skipped = 0
        self._nonfinite_events = 0

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------
    @staticmethod
    def _check_detector(model: nn.Module, role: str) -> None:
        if not hasattr(model, 'extract_feat'):
            raise TypeError(f'The {role} ({type(model).__name__}) is not an '
                            'mmdet detector (no extract_feat).')
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
        if source != 'fpn' and ('levels' in spec or 'level_weights' in spec):
            raise ValueError(
                f'distill_inputs[{name!r}]: levels/level_weights only '
                f"apply to source 'fpn', not {source!r}.")
        return dict(
            levels=spec.get('levels'),
            level_weights=spec.get('level_weights'),
            rois=rois)

    @property
    def num_classes(self) -> int:
        """Foreground classes of the student's box head."""
        return self.student.roi_head.bbox_head.num_classes

    def _check_connector(self, term: str, connector: Optional[str],
                         c_student: Optional[int],
                         c_teacher: Optional[int], what: str) -> None:
        if connector is None:
            if (c_student is not None and c_teacher is not None
                    and c_student != c_teacher):
                raise ValueError(
                    f'Term {term!r}: the student {what} has {c_student} '
                    f'channels and the teacher {what} {c_teacher}; add a '
                    'connector, e.g. connectors=dict(proj=dict('
                    f"type='mmkd.ConvConnector', in_channels={c_student}, "
                    f'out_channels={c_teacher})) and '
                    f"distill_inputs[{term!r}]['connector']='proj'.")
            return
        module = self.connectors[connector]
        c_in = getattr(module, 'in_channels', None)
        c_out = getattr(module, 'out_channels', None)
        if c_in is not None and c_student is not None and c_in != c_student:
            raise ValueError(
                f'Connector {connector!r} of term {term!r} takes {c_in} '
                f'channels but the student {what} has {c_student}.')
        if c_out is not None and c_teacher is not None and \
                c_out != c_teacher:
            raise ValueError(
                f'Connector {connector!r} of term {term!r} gives {c_out} '
                f'channels but the teacher {what} has {c_teacher}.')

    def _check_compatibility(self) -> None:
        s_head = self.student.roi_head.bbox_head
        t_head = self.teacher.roi_head.bbox_head
        for name, term in self.distill_inputs.items():
            source = term['source']
            if source in ('roi_cls', 'roi_reg') and \
                    s_head.num_classes != t_head.num_classes:
                raise ValueError(
                    f'Term {name!r} ({source}) compares RoI head outputs, but '
                    f'the student has num_classes={s_head.num_classes} and '
                    f'the teacher num_classes={t_head.num_classes}. Both must '
                    'be trained on the same classes.')
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
            loss = self.distill_losses[name]
            cost = getattr(loss, 'cost_matrix', None)
            if source == 'roi_cls' and isinstance(cost, Tensor):
                self.check_cost_matrix(name, cost)

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

    def _check_fpn_term(self, name: str, term: dict) -> None:
        for role, model in (('student', self.student), ('teacher',
                                                        self.teacher)):
            if not getattr(model, 'with_neck', False):
                raise ValueError(f"Term {name!r} reads 'fpn' but the {role} "
                                 'has no neck.')
        s_neck, t_neck = self.student.neck, self.teacher.neck
        s_n = getattr(s_neck, 'num_outs', None)
        t_n = getattr(t_neck, 'num_outs', None)
        levels = term['levels']
        if levels is None:
            if s_n is not None and t_n is not None and s_n != t_n:
                raise ValueError(
                    f'Term {name!r}: the student FPN has {s_n} levels and '
                    f'the teacher {t_n}; select common levels with '
                    f"distill_inputs[{name!r}]['levels'], e.g. "
                    f'{list(range(min(s_n, t_n)))}.')
        else:
            levels = list(levels)
            bad = [
                lv for lv in levels
                if not isinstance(lv, int) or lv < 0 or (
                    s_n is not None and lv >= s_n) or (
                        t_n is not None and lv >= t_n)
            ]
            if not levels or bad:
                raise ValueError(
                    f'Term {name!r}: invalid FPN levels {levels} (student '
                    f'has {s_n}, teacher {t_n} levels).')
            term['levels'] = levels
        weights = term['level_weights']
        if weights is not None:
            weights = [float(w) for w in weights]
            n_levels = len(levels) if levels is not None else s_n
            if n_levels is not None and len(weights) != n_levels:
                raise ValueError(
                    f'Term {name!r}: {len(weights)} level_weights for '
                    f'{n_levels} FPN levels.')
            term['level_weights'] = weights
        self._check_connector(name, term['connector'],
                              getattr(s_neck, 'out_channels', None),
                              getattr(t_neck, 'out_channels', None),
                              'FPN')

    def check_cost_matrix(self, name: str, cost_matrix: Tensor) -> None:
        """The RoI logits have ``num_classes + 1`` columns (background
        last); the cost matrix must be that square size."""
        n = self.num_classes + 1
        shape = tuple(cost_matrix.shape)
        if shape != (n, n):
            hint = ''
            if shape == (n - 1, n - 1):
                hint = (' It looks like a classification matrix without the '
                        'background class; build it with '
                        'tools/build_cost_matrix.py, which adds background '
                        'RoIs as the last class.')
            raise ValueError(
                f'Term {name!r}: the cost matrix is {shape} but the RoI '
                f'logits have {n} columns ({self.num_classes} classes + '
                f'background), so it must be ({n}, {n}).{hint}')

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
        skipped = 0

        def run_teacher(t_inputs: Tensor) -> dict:
            nonlocal skipped
            x_t = self.teacher.extract_feat(t_inputs)
            if not roi_keys:
                return dict(x_t=x_t, t_roi=None, valid=None)
            t_roi = self.roi_forward(self.teacher.roi_head, x_t, roi['rois'])
            t_roi = {key: t_roi[key] for key in roi_keys}
            valid = torch.ones_like(roi['labels'], dtype=torch.bool)
            for value in t_roi.values():
                if value is not None:
                    # a row sum is finite iff the row is (a reduction, not
                    # a map-sized mask)
                    valid &= torch.isfinite(value.flatten(1).sum(1))
            skipped += int((~valid).sum())
            return dict(
                x_t=x_t if 'fpn' in sources else None, t_roi=t_roi,
                valid=valid)

        def term_value(name: str, term: dict, teacher: dict):
            nonlocal skipped
            if term['source'] == 'fpn':
                value, n_bad = self._fpn_term(name, term, x_s, teacher['x_t'])
                skipped += n_bad
                return value
            return self._roi_term(name, term, roi, teacher['t_roi'],
                                  teacher['valid'])

        out = self.compute_terms(inputs, x_s[0], run_teacher, term_value)
        if skipped:
            self._report_nonfinite(skipped)
        # float32: under autocast x_s is float16/bfloat16, which would
        # round a count above 2048/256.
        out['nonfinite_teacher'] = x_s[0].new_tensor(
            float(skipped), dtype=torch.float32)
        return out

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

    def _fpn_term(self, name: str, term: dict, x_s: Tuple[Tensor],
                  x_t: Tuple[Tensor]):
        levels = term['levels']
        if levels is None:
            if len(x_s) != len(x_t):
                raise ValueError(
                    f'Term {name!r}: the student neck gave {len(x_s)} levels '
                    f"and the teacher's {len(x_t)}; select common levels "
                    f"with distill_inputs[{name!r}]['levels'].")
            levels = list(range(len(x_s)))
        weights = term['level_weights'] or [1.0] * len(levels)
        if len(weights) != len(levels):
            raise ValueError(f'Term {name!r}: {len(weights)} level_weights '
                             f'for {len(levels)} FPN levels.')
        connector = term['connector']
        total: Union[Tensor, Dict[str, Tensor]] = self._zero(
            x_s[0], connector)
        skipped = 0
        for level, weight in zip(levels, weights):
            t = x_t[level]
            if not bool(torch.isfinite(t).all()):
                skipped += 1
                continue
            s = x_s[level].float()
            if connector is not None:
                s = self.connectors[connector](s)
            if s.shape != t.shape:
                raise ValueError(
                    f'Term {name!r}: FPN level {level} is {tuple(s.shape)} '
                    f'for the student (after the connector) and '
                    f'{tuple(t.shape)} for the teacher.')
            value = self._call_loss(name, s, t.float())
            if isinstance(value, dict):
                if not isinstance(total, dict):
                    total = {k: total for k in value}
                for key, val in value.items():
                    total[key] = total[key] + weight * val
            else:
                total = total + weight * value
        return total, skipped

    def _report_nonfinite(self, skipped: int) -> None:
        self.nonfinite_skipped += skipped
        self._nonfinite_events += 1
        n = self._nonfinite_events
        if n & (n - 1) == 0:  # 1st, 2nd, 4th, 8th, ... occurrence
            print_log(
                f'The teacher produced NaN/inf outputs: skipped {skipped} '
                f'RoIs/FPN levels in this step ({self.nonfinite_skipped} in '
                f'{n} steps so far). Check the teacher checkpoint and its '
                'input normalisation.',
                logger='current',
                level=logging.WARNING)
