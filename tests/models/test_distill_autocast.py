# Copyright (c) OpenMMLab. All rights reserved.
"""Mixed precision (``AmpOptimWrapper``): the distillers under autocast.

CPU bfloat16 autocast stands in for a GPU's float16: the student and the
teacher run in reduced precision, the distillation terms must not (float32,
finite, gradients to the student side only), and a student output that
overflowed to inf must not turn the zero terms into NaN.
"""
import importlib
import math

import pytest
import torch
import torch.nn as nn
from distill_helpers import make_batch, setup_mmdet

setup_mmdet()

import mmpretrain.models  # noqa: E402,F401
from test_classification_distiller import batch, build  # noqa: E402
from test_detection_distiller import full_distiller  # noqa: E402
from test_single_stage_distiller import \
    full_distiller as one_stage_distiller  # noqa: E402

CLS_METHODS = ('wkd-lf', 'kd', 'dkd')
DET_TERMS = ('loss_wkd_l', 'loss_wkd_f', 'loss_fpn', 'loss_reg')
ONE_STAGE_TERMS = ('loss_wkd_l', 'loss_kd', 'loss_box', 'loss_fpn')


def _distill_terms(losses: dict) -> dict:
    return {
        k: v
        for k, v in losses.items() if k.startswith('distill.') and 'loss' in k
    }


def _record_dtype(module: nn.Module, seen: list):
    """Forward hook handle that records the dtype ``module`` returns."""
    return module.register_forward_hook(
        lambda m, args, out: seen.append(out.dtype))


def _poison(module: nn.Module, args, output):
    """Forward hook: one element overflowed to inf (as float16 can)."""
    output = output.clone()
    output.view(-1)[0] = math.inf
    return output


def _poison_first_level(module: nn.Module, args, outputs):
    return (_poison(module, args, outputs[0]), ) + tuple(outputs[1:])


def _check_gradients(model: nn.Module) -> None:
    """Gradients reach the student and the connectors, never the
    teacher."""
    for name, p in model.student.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    for name, p in model.connectors.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
        assert torch.isfinite(p.grad).all(), name
    for name, p in model.teacher.named_parameters():
        assert p.grad is None and not p.requires_grad, name


def _check_float32_terms_and_backward(model: nn.Module,
                                      losses: dict) -> None:
    """Every distillation term is a positive finite float32; backward
    reaches the student and connectors only (:func:`_check_gradients`)."""
    for key, value in _distill_terms(losses).items():
        assert value.dtype == torch.float32, key
        assert torch.isfinite(value) and float(value.detach()) > 0, key
    total, _ = model.parse_losses(losses)
    total.backward()
    _check_gradients(model)


@pytest.fixture
def cpu_bf16_mmcv(monkeypatch):
    """Give mmcv's CPU ops the reduced-precision support CUDA has.

    mmcv 2.1's CPU NMS reads float32 boxes only (mmdet's RPN boxes are
    bfloat16 here: anchors take the scores' dtype and CPU autocast keeps
    ``exp`` in bfloat16; CUDA autocast runs it in float32), and its
    RoIAlign (CPU and CUDA) has no bfloat16 kernel while mmdet casts the
    RoIs to the features' dtype: plain mmdet fails there under CPU
    bfloat16 autocast. Run both in float32 and hand back the reduced dtype,
    as a GPU's float16 kernels do, so the distiller's own code runs under
    autocast.
    """
    nms_module = importlib.import_module('mmcv.ops.nms')
    nms = nms_module.ext_module.nms
    monkeypatch.setattr(
        nms_module.ext_module, 'nms',
        lambda boxes, scores, **kw: nms(boxes.float(), scores.float(), **kw))

    def patch(extractor: nn.Module) -> None:
        forward = extractor.forward

        def float32_forward(feats, rois, *args, **kwargs):
            with torch.autocast('cpu', enabled=False):
                out = forward([f.float() for f in feats], rois.float(), *args,
                              **kwargs)
            return out.to(feats[0].dtype)

        monkeypatch.setattr(extractor, 'forward', float32_forward)

    return patch


@pytest.mark.parametrize('method', CLS_METHODS)
def test_classification_terms_are_float32_under_bf16_autocast(method):
    model = build(method)
    inputs, samples = batch(model)
    seen = []
    handle = _record_dtype(model.student.head.fc, seen)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    handle.remove()
    assert seen == [torch.bfloat16]  # the student did run in bfloat16
    assert _distill_terms(losses)
    _check_float32_terms_and_backward(model, losses)


def test_detection_terms_are_float32_under_bf16_autocast(cpu_bf16_mmcv):
    model = full_distiller()
    for detector in (model.student, model.teacher):
        cpu_bf16_mmcv(detector.roi_head.bbox_roi_extractor)
    inputs, samples = make_batch(model)
    seen = []
    handle = _record_dtype(model.student.roi_head.bbox_head.fc_cls, seen)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    handle.remove()
    assert seen == [torch.bfloat16]
    assert set(_distill_terms(losses)) == {f'distill.{k}' for k in DET_TERMS}
    # A count, logged: bfloat16 would round it above 256.
    assert losses['distill.nonfinite_teacher'].dtype == torch.float32
    _check_float32_terms_and_backward(model, losses)


def test_one_stage_terms_are_float32_under_bf16_autocast():
    # GFL pair: WKD-L and KD on dense class outputs, W1 on box
    # distributions, FPN; the student's head runs in bfloat16
    model = one_stage_distiller()
    # 256 px: at 64 px P7 is 1 x 1, where torch's CPU bfloat16 conv
    # backward (stride 2, 3 x 3) leaves the weight gradients of the taps
    # that only see padding uninitialised (garbage, sometimes NaN)
    inputs, samples = make_batch(model, size=256, num_items=[2, 3])
    seen = []
    handle = _record_dtype(model.student.bbox_head.gfl_cls, seen)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    handle.remove()
    assert seen and set(seen) == {torch.bfloat16}
    assert set(_distill_terms(losses)) == {
        f'distill.{k}'
        for k in ONE_STAGE_TERMS
    }
    _check_float32_terms_and_backward(model, losses)


def _check_finite_zeros(model: nn.Module, terms: dict) -> None:
    """Each term is an exact, finite, graph-connected 0 whose gradient is
    0 everywhere (DDP-safe), and backward stays finite."""
    for key, value in terms.items():
        assert value.dtype == torch.float32, key
        assert value.requires_grad, key
        assert torch.isfinite(value) and float(value.detach()) == 0.0, key
    sum(terms.values()).backward()
    for name, p in model.connectors.named_parameters():
        assert p.grad is not None, name
        assert torch.equal(p.grad, torch.zeros_like(p.grad)), name
    for name, p in model.student.named_parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), name


def test_classification_inf_student_output_gives_finite_zero_terms():
    model = build('wkd-lf')
    model.set_distillation_enabled(False)
    model.student.head.fc.register_forward_hook(_poison)
    inputs, samples = batch(model)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    terms = _distill_terms(losses)
    assert set(terms) == {'distill.loss_wkd_l', 'distill.loss_wkd_f'}
    _check_finite_zeros(model, terms)


def test_detection_inf_student_output_gives_finite_zero_terms():
    model = full_distiller()
    model.set_distillation_enabled(False)
    # The zeros are connected to the first FPN level.
    model.student.neck.register_forward_hook(_poison_first_level)
    inputs, samples = make_batch(model)
    losses = model.loss(inputs, samples)
    terms = _distill_terms(losses)
    assert set(terms) == {f'distill.{k}' for k in DET_TERMS}
    _check_finite_zeros(model, terms)
