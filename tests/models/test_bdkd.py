# Copyright (c) OpenMMLab. All rights reserved.
"""BD-KD losses and the online distiller (CPU, seconds)."""
import copy
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dataset import BaseDataset
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement

from mmkd.losses.bdkd_loss import (BDKDStudentLoss, BDKDTeacherLoss,
                                   bdkd_student_loss, bdkd_teacher_loss,
                                   entropy_gap_weights)
from mmkd.models.online import BDKDOnlineDistiller
from mmkd.registry import MODELS

NUM_CLASSES = 4
TAU = 2.0
# Sample 0: student flatter than teacher (dH > 0); sample 1: sharper.
LOGITS_S = [[1.0, 0.0, -1.0], [4.0, -2.0, 0.0]]
LOGITS_T = [[3.0, 0.5, 0.0], [1.0, 0.5, 0.0]]


# ----------------------------------------------------------------------
# hand computation with python floats
# ----------------------------------------------------------------------
def _softmax(row, tau):
    e = [math.exp(v / tau) for v in row]
    return [v / sum(e) for v in e]


def _kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q))


def _entropy(p):
    return -sum(a * math.log(a) for a in p)


def _hand_student(weighting, tau=TAU, gap_temperature=1.0):
    out = []
    for s, t in zip(LOGITS_S, LOGITS_T):
        ps, pt = _softmax(s, tau), _softmax(t, tau)
        gap = _entropy(ps) - _entropy(pt)
        if weighting == 'hard':
            d2 = 1.0 if gap > 0 else 0.0
            d1 = 1 - d2
        elif weighting == 'sigmoid':
            d2 = 1 / (1 + math.exp(-gap / gap_temperature))
            d1 = 1 - d2
        elif weighting == 'none':
            d1 = d2 = 1.0
        else:
            d1, d2 = 1.0, 0.0
        out.append(tau**2 * (d1 * _kl(pt, ps) + d2 * _kl(ps, pt)))
    return out


def _logits(requires_grad=False):
    s = torch.tensor(LOGITS_S, dtype=torch.float64,
                     requires_grad=requires_grad)
    t = torch.tensor(LOGITS_T, dtype=torch.float64,
                     requires_grad=requires_grad)
    return s, t


def test_entropy_gap_signs_of_the_fixture():
    weights = entropy_gap_weights(*_logits(), tau=TAU, weighting='hard')
    assert weights.gap[0] > 0 > weights.gap[1]
    assert weights.reverse.tolist() == [1.0, 0.0]
    assert weights.forward.tolist() == [0.0, 1.0]


@pytest.mark.parametrize('weighting', ['hard', 'sigmoid', 'none', 'forward'])
def test_student_loss_matches_hand_computation(weighting):
    s, t = _logits()
    out = bdkd_student_loss(s, t, tau=TAU, weighting=weighting,
                            gap_temperature=0.7)
    ref = _hand_student(weighting, gap_temperature=0.7)
    assert out.tolist() == pytest.approx(ref, rel=1e-12)
    module = BDKDStudentLoss(tau=TAU, weighting=weighting,
                             gap_temperature=0.7, loss_weight=0.5)
    assert module(s, t).item() == pytest.approx(0.5 * sum(ref) / 2,
                                                rel=1e-12)


@pytest.mark.parametrize('direction', ['reverse', 'forward'])
def test_teacher_loss_matches_hand_computation(direction):
    s, t = _logits()
    ref = []
    for rs, rt in zip(LOGITS_S, LOGITS_T):
        ps, pt = _softmax(rs, TAU), _softmax(rt, TAU)
        kl = _kl(ps, pt) if direction == 'reverse' else _kl(pt, ps)
        ref.append(TAU**2 * kl)
    out = bdkd_teacher_loss(t, s, tau=TAU, direction=direction)
    assert out.tolist() == pytest.approx(ref, rel=1e-12)


def test_weights_carry_no_gradient():
    s, t = _logits(requires_grad=True)
    weights = entropy_gap_weights(s, t, TAU, 'sigmoid')
    assert not any(w.requires_grad for w in weights)
    # d(loss)/d(s) equals the gradient with the weights frozen as numbers.
    loss = bdkd_student_loss(s, t, TAU, 'sigmoid').sum()
    (grad, ) = torch.autograd.grad(loss, s)
    s2 = s.detach().clone().requires_grad_(True)
    fwd = (F.softmax(t / TAU, 1) * (F.log_softmax(t / TAU, 1) -
                                    F.log_softmax(s2 / TAU, 1))).sum(1)
    rev = (F.softmax(s2 / TAU, 1) * (F.log_softmax(s2 / TAU, 1) -
                                     F.log_softmax(t / TAU, 1))).sum(1)
    frozen = TAU**2 * (weights.forward * fwd + weights.reverse * rev).sum()
    (ref, ) = torch.autograd.grad(frozen, s2)
    torch.testing.assert_close(grad, ref, rtol=1e-12, atol=1e-12)


def test_cross_terms_do_not_reach_the_other_network():
    s, t = _logits(requires_grad=True)
    student = BDKDStudentLoss(tau=TAU)(s, t)
    teacher = BDKDTeacherLoss(tau=TAU)(t, s)
    assert torch.autograd.grad(student, t, allow_unused=True)[0] is None
    assert torch.autograd.grad(teacher, s, allow_unused=True)[0] is None


@pytest.mark.parametrize('cls,kwargs,match', [
    (BDKDStudentLoss, dict(weighting='soft'), 'weighting must be one of'),
    (BDKDStudentLoss, dict(tau=0), 'tau must be > 0, got 0'),
    (BDKDStudentLoss, dict(gap_temperature=-1.0), 'gap_temperature must'),
    (BDKDTeacherLoss, dict(direction='both'), 'direction must be one of'),
    (BDKDTeacherLoss, dict(reduction='avg'), 'reduction must be one of'),
])
def test_loss_options_are_validated(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_half_logits_compute_in_float32():
    s, t = _logits()
    out = BDKDStudentLoss()(s.half(), t.half())
    assert out.dtype == torch.float32 and torch.isfinite(out)


# ----------------------------------------------------------------------
# the online distiller on tiny ImageClassifier-like networks
# ----------------------------------------------------------------------
class _Head(nn.Module):

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels, NUM_CLASSES)

    def forward(self, feats):
        return self.fc(feats[-1])

    def loss(self, feats, data_samples):
        labels = torch.cat([ds.gt_label for ds in data_samples])
        return dict(loss=F.cross_entropy(self(feats), labels))


class TinyClassifier(BaseModel):
    """extract_feat + head + predict, like mmpretrain's ImageClassifier."""

    def __init__(self, width: int) -> None:
        super().__init__(data_preprocessor=dict(type='ImgDataPreprocessor'))
        self.backbone = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width),
            nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = _Head(width)

    def extract_feat(self, inputs):
        return (self.backbone(inputs), )

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self.head(self.extract_feat(inputs))
        if mode == 'tensor':
            return logits
        for ds, score in zip(data_samples, logits.softmax(1)):
            ds.pred_score = score
        return data_samples


def _distiller(seed=0, **kwargs):
    torch.manual_seed(seed)
    return BDKDOnlineDistiller(
        student=TinyClassifier(4), teacher=TinyClassifier(8), **kwargs)


def _batch(n=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, 3, 8, 8, generator=g)
    labels = torch.randint(0, NUM_CLASSES, (n, ), generator=g)
    samples = [BaseDataElement(gt_label=label[None]) for label in labels]
    return inputs, samples


def _params(module):
    return [p for p in module.parameters() if p.requires_grad]


def test_each_loss_reaches_only_its_own_network():
    model = _distiller()
    losses = model.loss(*_batch())
    assert {k for k in losses if 'loss' in k} == {
        'student_loss_cls', 'student_loss_bdkd', 'teacher_loss_cls',
        'teacher_loss_kl'
    }
    student_total = model.student_losses(losses)
    teacher_total = model.teacher_losses(losses)
    s_params, t_params = _params(model.student), _params(model.teacher)
    cross = torch.autograd.grad(
        student_total, t_params, allow_unused=True, retain_graph=True)
    assert all(g is None for g in cross)
    cross = torch.autograd.grad(
        teacher_total, s_params, allow_unused=True, retain_graph=True)
    assert all(g is None for g in cross)
    own = torch.autograd.grad(
        losses['student_loss_bdkd'], s_params, retain_graph=True)
    assert any(g.abs().sum() > 0 for g in own)
    own = torch.autograd.grad(losses['teacher_loss_kl'], t_params)
    assert any(g.abs().sum() > 0 for g in own)


def test_one_train_step_equals_two_separate_updates():
    model = _distiller()
    ref = copy.deepcopy(model)
    data = dict(zip(('inputs', 'data_samples'), _batch()))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(copy.deepcopy(data), wrapper)
    assert 'bdkd_reverse_weight' in log_vars

    # Reference: each network stepped by the gradient of its own loss.
    ref.train()
    batch = ref.data_preprocessor(copy.deepcopy(data), True)
    losses = ref.loss(batch['inputs'], batch['data_samples'])
    for net, total in ((ref.student, ref.student_losses(losses)),
                       (ref.teacher, ref.teacher_losses(losses))):
        grads = torch.autograd.grad(total, _params(net), retain_graph=True)
        with torch.no_grad():
            for p, g in zip(_params(net), grads):
                p -= 0.1 * g
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, msg=name)
    before = _distiller()
    for net in ('student', 'teacher'):
        moved = [
            not torch.equal(p, q) for p, q in zip(
                getattr(model, net).parameters(),
                getattr(before, net).parameters())
        ]
        assert any(moved), f'{net} was not updated'


def test_predict_and_tensor_follow_eval_model():
    model = _distiller(eval_model='teacher')
    model.eval()
    inputs, samples = _batch()
    torch.testing.assert_close(
        model(inputs, mode='tensor'), model.teacher(inputs, mode='tensor'))
    model.set_eval_model('student')
    preds = model(inputs, samples, mode='predict')
    ref = model.student(inputs, mode='tensor').softmax(1)
    torch.testing.assert_close(torch.stack([p.pred_score for p in preds]),
                               ref)
    with pytest.raises(ValueError, match="eval_model must be one of"):
        model.set_eval_model('both')
    with pytest.raises(RuntimeError, match='Invalid mode "feat"'):
        model(inputs, mode='feat')


def test_builds_from_registry_with_loss_configs():
    model = MODELS.build(
        dict(
            type='BDKDOnlineDistiller',
            student=TinyClassifier(4),
            teacher=TinyClassifier(8),
            student_distill_loss=dict(tau=3.0, weighting='sigmoid'),
            teacher_distill_loss=dict(
                type='BDKDTeacherLoss', direction='forward')))
    assert model.student_distill_loss.weighting == 'sigmoid'
    assert model.student_distill_loss.tau == 3.0
    assert model.teacher_distill_loss.direction == 'forward'
    with pytest.raises(TypeError, match='ImageClassifier-like'):
        BDKDOnlineDistiller(student=nn.Linear(2, 2), teacher=TinyClassifier(4))


# ----------------------------------------------------------------------
# resume: interrupted + resumed == uninterrupted
# ----------------------------------------------------------------------
class _ToyDataset(BaseDataset):

    def __init__(self, n=16):
        self.n = n
        super().__init__(serialize_data=False, lazy_init=False)

    def load_data_list(self):
        g = torch.Generator().manual_seed(3)
        return [
            dict(
                img=torch.randn(3, 8, 8, generator=g),
                label=int(torch.randint(0, NUM_CLASSES, (1, ), generator=g)))
            for _ in range(self.n)
        ]

    def prepare_data(self, idx):
        info = self.get_data_info(idx)
        return dict(
            inputs=info['img'],
            data_samples=BaseDataElement(gt_label=torch.tensor([info['label']
                                                                ])))


def _runner(work_dir, name, max_iters, resume_from=None):
    return Runner(
        model=_distiller(seed=7),
        work_dir=work_dir,
        experiment_name=name,
        train_dataloader=dict(
            dataset=_ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4,
            num_workers=0),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(
            optimizer=dict(
                type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4),
            paramwise_cfg=dict(custom_keys={'teacher.': dict(lr_mult=2.0)})),
        param_scheduler=dict(
            type='MultiStepLR', by_epoch=False, milestones=[4], gamma=0.5),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook', interval=3, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=11),
        resume=resume_from is not None,
        load_from=resume_from,
        default_scope='mmkd')


def test_resume_is_exact(tmp_path):
    full = _runner(str(tmp_path / 'full'), 'bdkd_full', 7)
    full.train()
    ckpt = osp.join(str(tmp_path / 'full'), 'iter_3.pth')
    assert osp.isfile(ckpt)
    resumed = _runner(str(tmp_path / 'resumed'), 'bdkd_resumed', 7, ckpt)
    resumed.train()
    assert resumed.iter == full.iter == 7
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert any(k.startswith('teacher.') for k in a)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    sa = full.optim_wrapper.state_dict()['state']
    sb = resumed.optim_wrapper.state_dict()['state']
    assert sa.keys() == sb.keys() and len(sa) > 0
    for key in sa:
        torch.testing.assert_close(
            sa[key]['momentum_buffer'], sb[key]['momentum_buffer'], rtol=0,
            atol=0)
    lr_a = full.optim_wrapper.get_lr()['lr']
    assert lr_a == resumed.optim_wrapper.get_lr()['lr']
    assert sorted(set(lr_a)) == [0.025, 0.05]  # student, teacher x2


# ----------------------------------------------------------------------
# the shipped configs, with mmpretrain's ImageClassifier
# ----------------------------------------------------------------------
CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))),
                      'configs', 'bdkd')
ONLINE_CONFIGS = [
    'bdkd_r18-w16-to-r18-w8_toy-digits-medium-cls.py',
    'bdkd-sigmoid_r18-w16-to-r18-w8_toy-digits-medium-cls.py',
    'dml_r18-w16-to-r18-w8_toy-digits-medium-cls.py',
    'bdkd_r34-to-r18_1xb64-240e_cifar100.py',
]


def _build_from_config(name):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return cfg, MODELS.build(model_cfg)


@pytest.mark.parametrize('name', ONLINE_CONFIGS)
def test_online_configs_build(name):
    pytest.importorskip('mmcv')
    cfg, model = _build_from_config(name)
    assert cfg.default_scope == 'mmpretrain'
    assert 'mmkd' in cfg.custom_imports.imports
    assert isinstance(model, BDKDOnlineDistiller)
    assert any(m['type'] == 'mmkd.ECEMetric' for m in cfg.val_evaluator)
    assert type(model.student).__name__ == 'ImageClassifier'
    assert sum(p.numel() for p in model.teacher.parameters()) > \
        sum(p.numel() for p in model.student.parameters())


def test_toy_config_train_step_and_val_step():
    pytest.importorskip('mmcv')
    from mmpretrain.structures import DataSample

    from mmkd.evaluation import ECEMetric
    _, model = _build_from_config(
        'bdkd_r18-w16-to-r18-w8_toy-digits-medium-cls.py')
    g = torch.Generator().manual_seed(0)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, 32, 32), generator=g,
                          dtype=torch.uint8) for _ in range(4)
        ],
        data_samples=[DataSample().set_gt_label(i % 3) for i in range(4)])
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    before = copy.deepcopy(model.state_dict())
    log_vars = model.train_step(copy.deepcopy(data), wrapper)
    for key in ('student_loss_cls', 'student_loss_bdkd', 'teacher_loss_cls',
                'teacher_loss_kl'):
        assert torch.isfinite(torch.as_tensor(log_vars[key]))
    after = model.state_dict()
    for prefix in ('student.backbone', 'teacher.backbone'):
        assert any(not torch.equal(before[k], after[k]) for k in before
                   if k.startswith(prefix) and after[k].is_floating_point())
    preds = model.val_step(copy.deepcopy(data))
    assert len(preds) == 4 and preds[0].pred_score.shape == (10, )
    metric = ECEMetric()
    metric.process(None, [p.to_dict() for p in preds])
    assert set(metric.evaluate(4)) == {'calibration/ece', 'calibration/mce'}
