# Copyright (c) OpenMMLab. All rights reserved.
"""The one-stage configs (configs/coco_one_stage and the GFL/RetinaNet/LD
configs of configs/toy_digits) parse, build without downloads (teachers
from their configs, untrained; no ``init_weights``, so no pretrained
backbone is fetched) and take a training step on a small synthetic batch.

COCO configs run at full width on one 320 px image (2-3 s each with one
intra-op thread, as tools/run_tests.sh sets; 15-20 s with two threads on a
busy 2-core machine): two always, every config under the ``slow`` marker.
The toy configs all step at 128 px (about 1 s each).
"""
import copy
import glob
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'models'))
from distill_helpers import setup_mmdet  # noqa: E402

setup_mmdet()

from mmengine.config import Config  # noqa: E402
from mmengine.hub import get_config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from mmkd.models import SingleStageDistiller, build_model  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COCO_DIR = osp.join(ROOT, 'configs', 'coco_one_stage')
TOY_DIR = osp.join(ROOT, 'configs', 'toy_digits')
COCO = sorted(glob.glob(osp.join(COCO_DIR, '*.py')))
TOY = sorted(
    p for pattern in ('gfl_*.py', 'retinanet_*.py', 'ld_*.py')
    for p in glob.glob(osp.join(TOY_DIR, pattern)))
MMDET_CONFIGS = osp.join(
    osp.dirname(__import__('mmdet').__file__), '.mim', 'configs')

GFL_VARIANTS = ('kd', 'fitnet', 'wkd-l', 'wkd-f-fpn', 'wkd-f-fpn-gt',
                'wkd-box', 'kl-box', 'wkd-lf-box')
RETINA_VARIANTS = ('kd', 'fitnet', 'wkd-l', 'wkd-f-fpn', 'wkd-f-fpn-gt',
                   'wkd-lf')
#: COCO configs that step in the quick run: every source and both detector
#: families (the toy configs step every loss type, the connector and LD).
COCO_STEPPED = ('gfl_r101-to-r18_fpn_wkd-lf-box_1x_coco.py',
                'retinanet_r101-to-r50_fpn_wkd-lf_1x_coco.py')
_TEACHERS = {}


def build(path):
    """The config and its model: a SingleStageDistiller (teacher built once
    per teacher config, no checkpoint), mmdet's LD detector (no teacher
    checkpoint) or a plain detector."""
    from mmdet.registry import MODELS
    cfg = Config.fromfile(path)
    model_cfg = copy.deepcopy(cfg.model)  # mmdet's builders edit it
    with DefaultScope.overwrite_default_scope('mmdet'):
        kind = model_cfg.get('type')
        if kind == 'mmkd.SingleStageDistiller':
            model_cfg.pop('type')
            assert model_cfg.pop('teacher_ckpt'), 'names the teacher weights'
            key = str(model_cfg.teacher)
            if key not in _TEACHERS:
                _TEACHERS[key] = build_model(
                    model_cfg.teacher, 'teacher')
            model_cfg.teacher = _TEACHERS[key]
            return cfg, SingleStageDistiller(**model_cfg)
        if kind == 'KnowledgeDistillationSingleStageDetector':
            assert model_cfg.teacher_ckpt
            model_cfg.teacher_ckpt = None
        return cfg, MODELS.build(model_cfg)


def one_step(model, size, num_images):
    """One training loss + backward on ``num_images`` demo images; random
    symmetric cost matrices for WKD-L terms (the hook's job in training)."""
    from mmdet.testing import demo_mm_inputs
    num_classes = model.bbox_head.num_classes if hasattr(
        model, 'bbox_head') else model.num_classes
    for loss in getattr(model, 'distill_losses', {}).values():
        if hasattr(loss, 'set_cost_matrix'):
            cost = torch.rand(num_classes + 1, num_classes + 1)
            loss.set_cost_matrix(((cost + cost.t()) / 2).fill_diagonal_(0))
    model.train()
    packed = demo_mm_inputs(
        batch_size=num_images,
        image_shapes=[(3, size, size)] * num_images,
        num_items=[3] * num_images,
        num_classes=num_classes)
    data = model.data_preprocessor(packed, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    if isinstance(model, SingleStageDistiller):
        # every term ran and is in the loss dict
        assert set(model.distill_losses) == {
            k[len('distill.'):]
            for k in losses if k.startswith('distill.loss')
        }
    return losses


def _names(paths):
    return {osp.basename(p) for p in paths}


def test_every_variant_exists():
    coco, toy = _names(COCO), _names(TOY)
    for variant in GFL_VARIANTS:
        assert f'gfl_r101-to-r18_fpn_{variant}_1x_coco.py' in coco
        assert f'gfl_r50-w32-to-r18-w16_fpn_{variant}_toy-digits.py' in toy
    for variant in RETINA_VARIANTS:
        assert f'retinanet_r101-to-r50_fpn_{variant}_1x_coco.py' in coco
        assert (f'retinanet_r50-w32-to-r18-w16_fpn_{variant}_toy-digits.py'
                in toy)
    assert {
        'gfl_r18_fpn_1x_coco.py', 'retinanet_r50_fpn_1x_coco.py',
        'ld_r18-gflv1-r101_fpn_1x_coco.py'
    } <= coco
    assert {
        'gfl_r18-w16_fpn_toy-digits.py', 'gfl_r50-w32_fpn_toy-digits.py',
        'retinanet_r18-w16_fpn_toy-digits.py',
        'retinanet_r50-w32_fpn_toy-digits.py',
        'ld_r18-w16-gfl-r50-w32_fpn_toy-digits.py',
        'gfl_r50-w32-to-r18-w16_fpn_wkd-lf_toy-digits.py'
    } <= toy


@pytest.mark.parametrize('detector,pair', [('gfl', 'r101-to-r18'),
                                           ('retinanet', 'r101-to-r50')])
def test_fpn_wkd_f_default_and_grid2_option(detector, pair):
    """WKD-F on FPN maps: standardised 2x2-position cells by default (the
    form the toy FPN studies chose), the one-2x2-grid form kept as
    -grid2, which the object-region variant builds on."""
    def term(variant):
        cfg = Config.fromfile(
            osp.join(COCO_DIR, f'{detector}_{pair}_fpn_{variant}_1x_coco.py'))
        loss = cfg.model.distill_losses.loss_wkd_f
        return (loss.get('grid', 1), loss.get('cell_size'),
                loss.get('normalize', 'none'), loss.loss_weight)

    assert term('wkd-f-fpn')[:3] == (1, 2, 'channel')
    assert term('wkd-f-fpn-grid2') == (2, None, 'none', 0.005)
    assert term('wkd-f-fpn-gt') == term('wkd-f-fpn-grid2')


def _zoo_weights(teacher: str) -> str:
    """The Weights URL of an ``mmdet::`` config in mmdet's metafile."""
    import yaml
    folder, name = teacher.split('::')[1].split('/')
    with open(osp.join(MMDET_CONFIGS, folder, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    for entry in meta['Models']:
        if entry['Config'] == f'configs/{folder}/{name}':
            return entry['Weights']
    raise AssertionError(f'{teacher} is not in mmdet\'s metafile')


@pytest.mark.parametrize('path', COCO, ids=osp.basename)
def test_coco_config_builds(path):
    cfg, model = build(path)
    name = osp.basename(path)
    if isinstance(model, SingleStageDistiller):
        assert model.num_classes == 80
        # the teacher weights are mmdet's model-zoo weights of its config
        assert cfg.model.teacher_ckpt == _zoo_weights(cfg.model.teacher)
        hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
        assert 'mmkd.StudentCheckpointHook' in hooks
        takes_matrix = any(
            hasattr(model.distill_losses[n], 'set_cost_matrix')
            for n in model.distill_inputs)
        assert ('mmkd.CostMatrixHook' in hooks) == takes_matrix
        # the student is the pair's student config, unchanged
        student = 'gfl_r18' if name.startswith('gfl') else 'retinanet_r50'
        plain = Config.fromfile(
            osp.join(COCO_DIR, f'{student}_fpn_1x_coco.py')).model
        assert cfg.model.student == plain
    if name in COCO_STEPPED:
        one_step(model, 320, 1)


@pytest.mark.slow
@pytest.mark.parametrize(
    'path', [p for p in COCO if osp.basename(p) not in COCO_STEPPED],
    ids=osp.basename)
def test_coco_config_steps(path):
    one_step(build(path)[1], 320, 1)


def _plain(cfg):
    """A config value as plain data, without the ``_scope_`` mmengine
    adds to the outer dicts of ``mmdet::`` bases."""
    if hasattr(cfg, 'to_dict'):
        cfg = cfg.to_dict()
    if isinstance(cfg, dict):
        return {k: _plain(v) for k, v in cfg.items() if k != '_scope_'}
    if isinstance(cfg, (list, tuple)):
        return [_plain(v) for v in cfg]
    return cfg


def test_ld_configs_are_mmdets_but_for_the_teacher_path():
    """The LD baseline is mmdet's config with a teacher_config that resolves
    from any directory; the plain GFL student is LD's student without the
    LD head."""
    ours = Config.fromfile(
        osp.join(COCO_DIR, 'ld_r18-gflv1-r101_fpn_1x_coco.py'))
    mmdet_ld = get_config('mmdet::ld/ld_r18-gflv1-r101_fpn_1x_coco.py')
    assert mmdet_ld.model.teacher_config == (
        'configs/gfl/gfl_r101_fpn_ms-2x_coco.py')  # CWD-relative
    teacher_path = ours.model.teacher_config
    assert osp.isabs(teacher_path) and osp.isfile(teacher_path)
    assert _plain(Config.fromfile(teacher_path).model) == _plain(
        get_config('mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py').model)
    for key in ('model', 'optim_wrapper', 'train_cfg', 'param_scheduler',
                'train_dataloader'):
        a, b = _plain(ours[key]), _plain(mmdet_ld[key])
        if key == 'model':
            a.pop('teacher_config'), b.pop('teacher_config')
        assert a == b, key
    student = Config.fromfile(
        osp.join(COCO_DIR, 'gfl_r18_fpn_1x_coco.py'))
    ld_model = _plain(mmdet_ld.model)
    ld_head = ld_model.pop('bbox_head')
    plain = _plain(student.model)
    plain_head = plain.pop('bbox_head')
    for key in ('backbone', 'neck', 'train_cfg', 'test_cfg',
                'data_preprocessor'):
        assert plain[key] == ld_model[key], key
    assert ld_head.pop('type') == 'LDHead' and ld_head.pop('loss_ld')
    assert plain_head.pop('type') == 'GFLHead'
    assert plain_head == ld_head
    for key in ('optim_wrapper', 'train_cfg', 'param_scheduler',
                'train_dataloader'):
        assert _plain(student[key]) == _plain(mmdet_ld[key]), key


@pytest.mark.parametrize('path', TOY, ids=osp.basename)
def test_toy_config_builds_and_steps(path):
    cfg, model = build(path)
    name = osp.basename(path)
    if '-to-' in name or name.startswith('ld_'):
        family = 'retinanet' if name.startswith('retinanet') else 'gfl'
        teacher = f'{family}_r50-w32_fpn_toy-digits'
        # the work dir tools/train.py gives the teacher config
        assert cfg.model.teacher_ckpt == f'work_dirs/{teacher}/iter_600.pth'
        key = 'teacher_config' if name.startswith('ld_') else 'teacher'
        assert cfg.model[key] == osp.join(TOY_DIR, f'{teacher}.py')
        if '-to-' in name:
            assert cfg.model.student == Config.fromfile(
                osp.join(TOY_DIR, f'{family}_r18-w16_fpn_toy-digits.py')
            ).model
    one_step(model, 128, 2)
