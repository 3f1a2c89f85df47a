# Copyright (c) OpenMMLab. All rights reserved.
"""Tiny Faster R-CNNs and batches for the distillation tests (CPU, ms)."""
import copy
from typing import List, Optional

import torch
import torch.nn as nn
from mmengine.config import ConfigDict

_BASE: Optional[ConfigDict] = None
NUM_CLASSES = 3


def setup_mmdet() -> None:
    """Register mmdet's and mmkd's modules.

    The default scope is left alone (other test modules rely on theirs);
    the tiny configs carry ``_scope_='mmdet'`` instead.
    """
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    import mmkd.engine  # noqa: F401
    import mmkd.losses  # noqa: F401
    import mmkd.models  # noqa: F401


def _base_model() -> ConfigDict:
    global _BASE
    if _BASE is None:
        from mmengine.hub import get_config
        _BASE = get_config('mmdet::_base_/models/faster-rcnn_r50_fpn.py').model
    return copy.deepcopy(_BASE)


def tiny_detector_cfg(base_channels: int = 8,
                      fpn: int = 16,
                      fc: int = 32,
                      num_classes: int = NUM_CLASSES,
                      num_rois: int = 32,
                      num_outs: int = 5) -> ConfigDict:
    """A ResNet-18-FPN Faster R-CNN a few hundred times smaller than COCO's."""
    cfg = _base_model()
    cfg.backbone.update(
        depth=18,
        base_channels=base_channels,
        init_cfg=None,
        frozen_stages=-1,
        norm_eval=False)
    cfg.neck.update(
        in_channels=[base_channels * m for m in (1, 2, 4, 8)],
        out_channels=fpn,
        num_outs=num_outs)
    cfg.rpn_head.update(in_channels=fpn, feat_channels=fpn)
    cfg.roi_head.bbox_roi_extractor.update(out_channels=fpn)
    cfg.roi_head.bbox_head.update(
        in_channels=fpn, fc_out_channels=fc, num_classes=num_classes)
    cfg.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=64)
    cfg.train_cfg.rcnn.sampler.update(num=num_rois)
    cfg.test_cfg.rpn.update(nms_pre=200, max_per_img=64)
    cfg.test_cfg.rcnn.update(max_per_img=20)
    cfg['_scope_'] = 'mmdet'
    return cfg


def teacher_cfg(**kwargs) -> ConfigDict:
    """Wider backbone than the student; same FPN width unless given."""
    kwargs.setdefault('base_channels', 16)
    return tiny_detector_cfg(**kwargs)


def build_distiller(student=None, teacher=None, seed: int = 0, **kwargs):
    from mmkd.models import DetectionDistiller
    torch.manual_seed(seed)
    return DetectionDistiller(
        student=student if student is not None else tiny_detector_cfg(),
        teacher=teacher if teacher is not None else teacher_cfg(),
        **kwargs)


def make_batch(model: nn.Module,
               batch_size: int = 2,
               size: int = 64,
               num_items: Optional[List[int]] = None,
               training: bool = True,
               num_classes: int = NUM_CLASSES):
    """Preprocessed ``(inputs, data_samples)`` from mmdet's demo inputs."""
    from mmdet.testing import demo_mm_inputs
    packed = demo_mm_inputs(
        batch_size=batch_size,
        image_shapes=[(3, size, size)] * batch_size,
        num_items=num_items,
        num_classes=num_classes)
    data = model.data_preprocessor(packed, training)
    return data['inputs'], data['data_samples']


def packed_batch(batch_size: int = 2,
                 size: int = 64,
                 num_items: Optional[List[int]] = None,
                 num_classes: int = NUM_CLASSES,
                 cycle_labels: bool = False) -> dict:
    """Raw (not preprocessed) batch as a dataloader yields it.

    mmdet's demo draws labels in ``[1, num_classes)``; ``cycle_labels``
    relabels the boxes 0, 1, 2, ... so that every class occurs.
    """
    from mmdet.testing import demo_mm_inputs
    packed = demo_mm_inputs(
        batch_size=batch_size,
        image_shapes=[(3, size, size)] * batch_size,
        num_items=num_items,
        num_classes=num_classes)
    if cycle_labels:
        start = 0
        for sample in packed['data_samples']:
            n = len(sample.gt_instances)
            sample.gt_instances.labels = (torch.arange(n) +
                                          start) % num_classes
            start += n
    return packed


class RecordingLoss(nn.Module):
    """A distillation loss that records what it receives.

    ``forward(s, t, labels=None)`` returns ``mean((s - t)^2)``.
    """

    def __init__(self, with_labels: bool = True) -> None:
        super().__init__()
        self.calls = []
        self.with_labels = with_labels

    def forward(self, s, t, labels=None):
        cpu_autocast = (
            torch.is_autocast_enabled('cpu') if hasattr(
                torch, 'is_autocast_enabled') else False)
        self.calls.append(
            dict(
                s=s.detach().clone(),
                t=t.detach().clone(),
                labels=None if labels is None else labels.clone(),
                autocast=cpu_autocast,
                s_requires_grad=s.requires_grad,
                t_requires_grad=t.requires_grad))
        return ((s - t)**2).mean()


class RecordingLossNoLabels(RecordingLoss):

    def forward(self, s, t):  # noqa: D102
        return super().forward(s, t)


#: mmdet configs of the tiny single-stage detectors.
SINGLE_STAGE_CONFIGS = dict(
    retinanet='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    gfl='mmdet::gfl/gfl_r50_fpn_1x_coco.py',
    fcos='mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    rtmdet='mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py')
_SINGLE_BASES = {}


def tiny_single_stage_cfg(kind: str = 'retinanet',
                          base_channels: int = 8,
                          fpn: int = 16,
                          num_classes: int = NUM_CLASSES,
                          **head) -> ConfigDict:
    """A ResNet-18-FPN one-stage detector (``kind``: ``'retinanet'``,
    ``'gfl'`` or ``'fcos'``) with one 16-channel conv per head branch;
    ``head`` updates the ``bbox_head`` config. ``'rtmdet'`` is RTMDet-tiny
    with its CSPNeXt backbone and PAFPN narrowed (``base_channels`` / 64 of
    its width) and BN for SyncBN."""
    if kind not in _SINGLE_BASES:
        from mmengine.hub import get_config
        _SINGLE_BASES[kind] = get_config(SINGLE_STAGE_CONFIGS[kind]).model
    cfg = copy.deepcopy(_SINGLE_BASES[kind])
    if kind == 'rtmdet':
        return _tiny_rtmdet(cfg, base_channels, fpn, num_classes, head)
    cfg.backbone.update(
        depth=18,
        base_channels=base_channels,
        init_cfg=None,
        frozen_stages=-1,
        norm_eval=False)
    cfg.neck.update(
        in_channels=[base_channels * m for m in (1, 2, 4, 8)],
        out_channels=fpn)
    cfg.bbox_head.update(
        num_classes=num_classes,
        in_channels=fpn,
        feat_channels=fpn,
        stacked_convs=1)
    if kind in ('gfl', 'fcos'):  # their heads default to GN(32)
        cfg.bbox_head.norm_cfg = dict(
            type='GN', num_groups=4, requires_grad=True)
    cfg.bbox_head.update(head)
    cfg['_scope_'] = 'mmdet'
    return cfg


def _tiny_rtmdet(cfg: ConfigDict, base_channels: int, fpn: int,
                 num_classes: int, head: dict) -> ConfigDict:
    bn = dict(type='BN')
    # CSPNeXt P5 stage widths are 128, 256, 512, 1024 x widen_factor
    widen = base_channels / 64
    cfg.backbone.update(
        widen_factor=widen, init_cfg=None, norm_cfg=bn, deepen_factor=0.167)
    cfg.neck.update(
        in_channels=[int(c * widen) for c in (256, 512, 1024)],
        out_channels=fpn,
        norm_cfg=bn)
    cfg.bbox_head.update(
        num_classes=num_classes,
        in_channels=fpn,
        feat_channels=fpn,
        stacked_convs=1,
        norm_cfg=bn)
    cfg.bbox_head.update(head)
    if cfg.bbox_head.type == 'RTMDetHead':  # no separate BNs per level
        for key in ('share_conv', 'exp_on_reg'):
            cfg.bbox_head.pop(key, None)
    cfg['_scope_'] = 'mmdet'
    return cfg
