# Copyright (c) OpenMMLab. All rights reserved.
"""The installed OpenMMLab stack is checked, not forced: version errors name
the installed version, the supported range and the fix; detection pieces
need mmdet and mmcv's compiled ops, classification needs neither."""
import os.path as osp
import sys
import warnings

import pytest

from mmkd import stack

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), 'models'))


def test_the_installed_stack_is_supported():
    stack.check_stack()
    dist, version = stack.installed('mmcv')
    assert dist in ('mmcv', 'mmcv-lite', 'onedl-mmcv') and version


def test_an_unsupported_version_names_it_the_range_and_the_fix(monkeypatch):
    monkeypatch.setattr(stack, 'installed',
                        lambda module: ('mmcv', '2.5.0')
                        if module == 'mmcv' else ('x', '1.2.3'))
    with pytest.raises(ImportError,
                       match=r'mmkd supports mmcv 2.0.0 <= version < 2.4.0, '
                       r'but mmcv 2.5.0 is installed.*pip install "mmcv'):
        stack._check('mmcv', required=True)


def test_a_missing_required_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(stack, 'installed', lambda module: None)
    with pytest.raises(ImportError, match='mmkd needs mmcv 2.0.0 <= version '
                       "< 2.4.0, which is not installed.*onedl-mmcv"):
        stack._check('mmcv', required=True)
    assert stack._check('mmdet', required=False) is None


def test_detection_pieces_refuse_a_classification_only_stack(monkeypatch):
    """On mmengine + mmcv-lite + mmpretrain a detection config fails with a
    message naming the fix, before anything is built."""
    from mmkd.models import ClassificationDistiller, DetectionDistiller
    real = stack.installed
    monkeypatch.setattr(stack, 'installed',
                        lambda m: None if m == 'mmdet' else real(m))
    with pytest.raises(ImportError,
                       match='DetectionDistiller is for detection: '
                       'it needs mmdet and mmcv with its compiled ops, but '
                       'mmdet is not installed'):
        DetectionDistiller(student=dict(type='x'), teacher=dict(type='y'))
    monkeypatch.setattr(stack, 'installed', real)
    monkeypatch.setattr(stack, '_has_compiled_ops', lambda: False)
    with pytest.raises(ImportError, match='has no compiled ops \\(mmcv-lite '
                       'never has them\\)'):
        stack.require_detection('collect_detection_class_features')
    # classification needs no compiled ops
    import mmpretrain.models  # noqa: F401
    from test_classification_distiller import classifier_cfg as cfg
    model = ClassificationDistiller(
        student=cfg(8), teacher=cfg(16),
        distill_losses=dict(loss_kd=dict(type='mmkd.KDLoss')),
        distill_inputs=dict(loss_kd='logits'))
    assert model is not None


def test_a_setuptools_without_pkg_resources_is_named(monkeypatch):
    """Upstream mmengine 0.10 resolves ``mmkd::`` config paths with
    pkg_resources (gone from setuptools 81): say so and how to fix it."""
    import importlib.util
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec', lambda name, *a: None
        if name == 'pkg_resources' else find_spec(name, *a))
    monkeypatch.setitem(sys.modules, 'pkg_resources', None)
    from mmengine.utils import package_utils
    if 'pkg_resources' not in open(package_utils.__file__).read():
        with warnings.catch_warnings():
            warnings.simplefilter('error')  # this mmengine does not need it
            stack._check_config_paths()
        return
    with pytest.warns(UserWarning,
                      match="pkg_resources.*pip install 'setuptools<81'"):
        stack._check_config_paths()


def test_a_detection_config_names_what_is_missing(monkeypatch):
    """Our tools load an mmdet config on a classification-only stack with
    mmkd's message, whether MMEngine fails on its 'mmdet::' base or the
    config loads."""
    from mmengine.config import Config

    from mmkd.utils import load_tool_config
    config = osp.join(
        osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
        'toy_digits', 'faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-lf_toy-'
        'digits.py')
    real = stack.installed
    monkeypatch.setattr(stack, 'installed',
                        lambda m: None if m == 'mmdet' else real(m))
    message = (r'faster-rcnn_r50-w32-to-r18-w16_fpn_wkd-lf_toy-digits\.py '
               r'\(an mmdet config\) is for detection: .*mmdet is not '
               r'installed')
    with pytest.raises(ImportError, match=message):
        load_tool_config(config)

    def no_mmdet(*args, **kwargs):
        raise ModuleNotFoundError(
            'mmdet is not installed, please install mmdet manually')

    monkeypatch.setattr(Config, 'fromfile', no_mmdet)
    with pytest.raises(ImportError, match=message) as info:
        load_tool_config(config)
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
