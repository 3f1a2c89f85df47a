# Copyright (c) OpenMMLab. All rights reserved.
"""The OpenMMLab packages mmkd runs on: checked at import, never forced.

mmkd's ``install_requires`` names none of them, so ``pip install mmkd``
never installs, replaces or rebuilds a user's stack: upstream OpenMMLab
(``mmengine``, ``mmcv`` or ``mmcv-lite``, ``mmdet``, ``mmpretrain``) and
OneDL's forks (``onedl-mmengine``, ``onedl-mmcv``, ``onedl-mmdetection``,
``onedl-mmpretrain``) provide the same import names. Instead, ``import
mmkd`` checks the versions of what is installed, whichever distribution
provides it (:func:`check_stack`), and the detection pieces check for mmdet
and mmcv's compiled ops when they are used (:func:`require_detection`), so a
classification-only install (mmengine + mmcv-lite + mmpretrain) works.
"""
import importlib.metadata as metadata
import importlib.util
import warnings
from typing import Dict, Optional, Tuple

__all__ = [
    'SUPPORTED', 'installed', 'check_stack', 'require_detection',
    'require_classification'
]

#: Import name -> supported versions ``[low, high)``, whichever
#: distribution provides it.
SUPPORTED: Dict[str, Tuple[str, str]] = {
    'mmengine': ('0.10.0', '0.11.0'),
    'mmcv': ('2.0.0', '2.4.0'),
    'mmdet': ('3.3.0', '3.6.0'),
    'mmpretrain': ('1.2.0', '1.4.0'),
}
#: What to install where a package is missing, upstream and OneDL.
INSTALL = {
    'mmengine': '"mmengine>=0.10,<0.11" (or OneDL\'s onedl-mmengine)',
    'mmcv': '"mmcv>=2.0,<2.4" or "mmcv-lite>=2.0,<2.4" for classification '
    "only (or OneDL's onedl-mmcv)",
    'mmdet': '"mmdet>=3.3,<3.6" (or OneDL\'s onedl-mmdetection)',
    'mmpretrain': '"mmpretrain>=1.2,<1.4" (or OneDL\'s onedl-mmpretrain)',
}


def installed(module: str) -> Optional[Tuple[str, str]]:
    """The distribution that provides an import name, and its version.

    Args:
        module (str): An import name, e.g. ``'mmcv'``.

    Returns:
        tuple[str, str] | None: ``(distribution, version)``, e.g.
        ``('mmcv-lite', '2.2.0')``; None when nothing provides it.
    """
    if importlib.util.find_spec(module) is None:
        return None
    for dist in metadata.packages_distributions().get(module, []):
        try:
            return dist, metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    # on the path without metadata (a source checkout): its own version
    version = getattr(importlib.import_module(module), '__version__', '0')
    return module, version


def _check(module: str, required: bool) -> Optional[Tuple[str, str]]:
    from mmengine.utils import digit_version
    found = installed(module)
    low, high = SUPPORTED[module]
    if found is None:
        if required:
            raise ImportError(
                f'mmkd needs {module} {low} <= version < {high}, which is not '
                f'installed: pip install {INSTALL[module]}.')
        return None
    dist, version = found
    if not digit_version(low) <= digit_version(version) < digit_version(
            high):
        raise ImportError(
            f'mmkd supports {module} {low} <= version < {high}, but {dist} '
            f'{version} is installed. Install a supported version (pip '
            f'install {INSTALL[module]}), or an mmkd release that supports '
            f'{dist} {version}.')
    return found


def check_stack() -> None:
    """Check the installed stack (``import mmkd`` does): mmengine and mmcv
    (or mmcv-lite) are required; mmdet and mmpretrain, where installed, must
    be supported versions.

    Raises:
        ImportError: Naming the package, the installed version, the
            supported range and what to install.
    """
    if importlib.util.find_spec('mmengine') is None:
        low, high = SUPPORTED['mmengine']
        raise ImportError(
            f'mmkd needs mmengine {low} <= version < {high}, which is not '
            f'installed: pip install {INSTALL["mmengine"]}.')
    for module in ('mmengine', 'mmcv'):
        _check(module, required=True)
    for module in ('mmdet', 'mmpretrain'):
        _check(module, required=False)
    _check_config_paths()


def _check_config_paths() -> None:
    """Warn where MMEngine cannot resolve ``mmkd::`` (or ``mmdet::``)
    config paths: upstream mmengine 0.10 looks packages up with
    ``pkg_resources``, which setuptools 81 and later no longer ship."""
    if importlib.util.find_spec('pkg_resources') is not None:
        return
    from mmengine.utils import is_installed
    try:
        is_installed('mmengine')
    except ModuleNotFoundError:
        dist, version = installed('mmengine')
        warnings.warn(
            f'{dist} {version} resolves package config paths such as '
            "'mmkd::...' and 'mmdet::...' with pkg_resources, which this "
            "environment's setuptools no longer has: configs that inherit "
            "them fail to load. pip install 'setuptools<81' (or OneDL's "
            'onedl-mmengine, which does not need it).',
            stacklevel=3)


def _has_compiled_ops() -> bool:
    return importlib.util.find_spec('mmcv._ext') is not None


def require_detection(what: str) -> None:
    """Raise unless mmdet and mmcv's compiled ops (RoIAlign, NMS) are
    installed.

    Args:
        what (str): What needs them, for the message (e.g.
            ``'DetectionDistiller'``).

    Raises:
        ImportError: Naming what is missing and how to install it.
    """
    mmdet = _check('mmdet', required=False)
    mmcv = installed('mmcv')
    if mmdet is not None and _has_compiled_ops():
        return
    have_mmdet = 'mmdet is not installed' if mmdet is None else \
        f'{mmdet[0]} {mmdet[1]} is installed'
    have_ops = f'{mmcv[0]} {mmcv[1]}' if mmcv else 'no mmcv'
    raise ImportError(
        f'{what} is for detection: it needs mmdet and mmcv with its '
        f'compiled ops, but {have_mmdet} and {have_ops} has '
        f'{"its" if _has_compiled_ops() else "no"} compiled ops (mmcv-lite '
        'never has them). Install mmdet '
        f'{INSTALL["mmdet"]} and an mmcv built with ops ("mim install '
        'mmcv", or a wheel for your torch and CUDA; OneDL\'s onedl-mmcv); '
        'classification needs neither.')


def require_classification(what: str) -> None:
    """Raise unless mmpretrain is installed.

    Args:
        what (str): What needs it, for the message.

    Raises:
        ImportError: Naming what to install.
    """
    if _check('mmpretrain', required=False) is None:
        raise ImportError(f'{what} needs mmpretrain: pip install '
                          f'{INSTALL["mmpretrain"]}.')
