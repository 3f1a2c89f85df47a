# Copyright (c) OpenMMLab. All rights reserved.
"""Settings shared by the whole test suite.

The one place that finds files the repository does not ship: the official
WKD cost matrices (released with the official WKD code, not redistributed
here). Tests that need them take the :func:`official_cost_matrix` fixture
and skip, saying where to get them, when they are missing.
"""
import os
import os.path as osp
from typing import Callable, List

import pytest

#: Environment variable naming a folder that holds the official matrices.
OFFICIAL_COST_MATRICES_ENV = 'MMKD_OFFICIAL_COST_MATRICES'
#: Where our development machines and CI keep them: a ``shared/`` folder
#: beside the checkout (a user's clone has none).
OFFICIAL_BESIDE_CHECKOUT = osp.normpath(
    osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'shared',
             'reference', 'official_cost_matrices'))


def official_cost_matrix_dirs() -> List[str]:
    """The folders searched for the official matrices, in order.

    Returns:
        list[str]: ``$MMKD_OFFICIAL_COST_MATRICES`` when set, then
        ``../shared/reference/official_cost_matrices`` beside the checkout.
    """
    dirs = []
    env = os.environ.get(OFFICIAL_COST_MATRICES_ENV)
    if env:
        dirs.append(osp.abspath(osp.expanduser(env)))
    dirs.append(OFFICIAL_BESIDE_CHECKOUT)
    return dirs


def official_cost_matrix_path(name: str) -> str:
    """The path of one official matrix, or skip the calling test.

    Args:
        name (str): Path relative to the matrices folder, e.g.
            ``'imagenet/resnet34_logit_linear_cka.pth'``.

    Returns:
        str: The first existing file among :func:`official_cost_matrix_dirs`.
    """
    dirs = official_cost_matrix_dirs()
    for folder in dirs:
        path = osp.join(folder, name)
        if osp.isfile(path):
            return path
    pytest.skip(
        f'official WKD cost matrix {name!r} not found (looked in '
        f'{", ".join(dirs)}). It is not shipped with mmkd: copy the '
        'released .pth files from the wkd_cost_matrix/ folder of the '
        'official WKD code (linked from the paper, arXiv:2412.08139) into a '
        f'folder as {name} (same layout for the others) and set '
        f'{OFFICIAL_COST_MATRICES_ENV} to that folder.')


@pytest.fixture
def official_cost_matrix() -> Callable[[str], str]:
    """``official_cost_matrix(name)`` -> the file's path; the test skips
    when it is missing (see :func:`official_cost_matrix_path`)."""
    return official_cost_matrix_path


#: Test modules that build mmdet detectors (or read mmdet configs): not
#: collected on a classification-only stack (no mmdet, or mmcv without its
#: compiled ops, e.g. mmcv-lite), where the rest of the suite applies.
DETECTION_TESTS = [
    'apis/test_cost_matrix_api.py', 'apis/test_dense_cost_matrix.py',
    'configs/test_one_stage_configs.py', 'configs/test_real_layouts.py',
    'engine/test_cost_matrix_hook.py', 'engine/test_distill_ddp.py',
    'engine/test_distill_hooks.py', 'models/test_detection_distiller.py',
    'models/test_distill_autocast.py', 'models/test_distill_configs.py',
    'models/test_ld_box_term.py', 'models/test_single_stage_distiller.py',
    'tools/test_build_cost_matrix_dense.py', 'tools/test_distill_study.py',
    'tools/test_distill_tools.py', 'tools/test_export_student.py',
    'tools/test_toy_demo.py', 'tools/test_train_test_tools.py'
]


def detection_available() -> bool:
    """Whether mmdet and mmcv's compiled ops are installed."""
    import importlib.util
    return (importlib.util.find_spec('mmdet') is not None
            and importlib.util.find_spec('mmcv._ext') is not None)


collect_ignore = [] if detection_available() else DETECTION_TESTS


def pytest_report_header(config) -> str:
    if detection_available():
        return 'mmkd: detection tests included (mmdet and mmcv ops found)'
    return (f'mmkd: {len(DETECTION_TESTS)} detection test modules not '
            'collected (no mmdet or no mmcv compiled ops)')


#: The MMEngine default scopes that exist before any test runs.
_SCOPES_AT_START: set = set()


def pytest_sessionstart(session) -> None:
    try:
        from mmengine.registry import DefaultScope
    except ImportError:
        return
    _SCOPES_AT_START.update(DefaultScope._instance_dict)


@pytest.fixture(autouse=True)
def _no_default_scope_leaks():
    """Drop the MMEngine default scopes created since the session began.

    A scope set by one test (a Runner, ``init_default_scope``), or by a
    module-scoped fixture, would stay current for every later test in the
    process and change where their registry lookups go, so results depended
    on test order.
    """
    yield
    try:
        from mmengine.registry import DefaultScope
    except ImportError:
        return
    for name in set(DefaultScope._instance_dict) - _SCOPES_AT_START:
        DefaultScope._instance_dict.pop(name, None)


def pytest_configure(config) -> None:
    """Register the suite's markers (``-m 'not slow'`` for a quick run)."""
    config.addinivalue_line(
        'markers', 'slow: end-to-end runs of a minute or more (CI runs '
        'them)')
