# Copyright (c) OpenMMLab. All rights reserved.
"""Build the models of a distiller: from modules, config dicts or files.

A teacher or a student may be given as a built ``nn.Module``, a model config
dict, a config file whose ``model`` is the model, or an OpenMMLab package
path such as ``'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'``. The
distillers, BD-KD and the tools (``build_cost_matrix.py``,
``export_student.py``) build them the same way, through this module.
"""
import os.path as osp
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.model import ModuleDict
from mmengine.registry import DefaultScope

from mmkd.registry import MODELS

__all__ = [
    'ModelSpec', 'build_model', 'model_cfg_from_file',
    'with_data_preprocessor', 'build_children', 'distiller_data_preprocessor'
]

ModelSpec = Union[dict, ConfigDict, str, nn.Module]


def with_data_preprocessor(model_cfg: dict, cfg: Config) -> dict:
    """``model_cfg`` with the top-level ``data_preprocessor`` of ``cfg``
    unless it has its own, as mmengine's Runner builds models (mmpretrain
    configs keep the input normalisation at the top level).

    Args:
        model_cfg (dict): A model config from ``cfg``.
        cfg (Config): The whole config.

    Returns:
        dict: ``model_cfg``, updated in place.
    """
    preproc = cfg.get('data_preprocessor', None)
    if preproc is not None and 'data_preprocessor' not in model_cfg:
        model_cfg['data_preprocessor'] = preproc
    return model_cfg


def model_cfg_from_file(path: str, role: str = 'model') -> ConfigDict:
    """The ``model`` of a config file or of a ``pkg::path`` config, with the
    file's top-level ``data_preprocessor`` and default scope.

    Args:
        path (str): A local path or a ``'mmdet::...'``-style package path.
        role (str): What the model is (``'teacher'``), for messages.

    Returns:
        ConfigDict: The model config.

    Raises:
        FileNotFoundError: If the file (or package config) does not exist.
        ValueError: If it has no ``model``.
    """
    if '::' in path:
        from mmengine.hub import get_config
        try:
            cfg = get_config(path)
        except Exception as e:  # noqa: BLE001 - re-raised with context
            raise FileNotFoundError(
                f'Cannot load the {role} config {path!r} ({e}). Package '
                "paths look like 'mmdet::faster_rcnn/"
                "faster-rcnn_r101_fpn_1x_coco.py'.") from e
    else:
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'The {role} config file {path!r} does not exist '
                f'(relative paths are resolved from {osp.abspath(".")}; '
                "in a config, '{{fileDirname}}/x.py' gives a path "
                'relative to that config).')
        cfg = Config.fromfile(path)
    if 'model' not in cfg:
        raise ValueError(f'The {role} config {path!r} has no `model`.')
    model_cfg = with_data_preprocessor(cfg.model, cfg)
    # Unscoped types of a package config belong to its default scope.
    scope = cfg.get('default_scope', None)
    if scope is not None and '_scope_' not in model_cfg:
        model_cfg['_scope_'] = scope
    return model_cfg


def build_model(spec: ModelSpec, role: str = 'model') -> nn.Module:
    """Build a model from a module, a config dict or a config file.

    Args:
        spec (dict | str | nn.Module): A built module (returned as is), a
            model config dict or a config file (see
            :func:`model_cfg_from_file`).
        role (str): What the model is (``'student'``, ``'teacher'``), for
            messages. Defaults to ``'model'``.

    Returns:
        nn.Module: The model.

    Raises:
        TypeError: If ``spec`` is none of the above.
        ValueError: If the config has no ``type``.
    """
    if isinstance(spec, nn.Module):
        return spec
    if isinstance(spec, str):
        spec = model_cfg_from_file(spec, role)
    if not isinstance(spec, (dict, ConfigDict)):
        raise TypeError(
            f'{role} must be a model config dict, a config file path or '
            f'an nn.Module, but got {type(spec).__name__}.')
    if 'type' not in spec:
        raise ValueError(f"The {role} config has no 'type': {spec}.")
    return MODELS.build(spec)


def build_children(cfgs: Optional[dict], what: str) -> ModuleDict:
    """Build a name -> module dict (losses, connectors); unscoped types
    resolve in mmkd.

    Args:
        cfgs (dict, optional): Name -> config dict (with ``type``) or
            module.
        what (str): The argument's name, for messages.

    Returns:
        ModuleDict: The built modules (empty for None).
    """
    if cfgs is None:
        return ModuleDict()
    if not isinstance(cfgs, (dict, ConfigDict)):
        raise TypeError(f'{what} must be a dict of name -> config, but '
                        f'got {type(cfgs).__name__}.')
    modules = ModuleDict()
    with DefaultScope.overwrite_default_scope('mmkd'):
        for name, cfg in cfgs.items():
            if isinstance(cfg, nn.Module):
                modules[name] = cfg
            elif isinstance(cfg, (dict, ConfigDict)) and 'type' in cfg:
                modules[name] = MODELS.build(cfg)
            else:
                raise TypeError(
                    f'{what}[{name!r}] must be a config dict with a '
                    f"'type' or an nn.Module, but got {cfg!r}.")
    return modules


def distiller_data_preprocessor(
        data_preprocessor: Optional[Union[dict, nn.Module]],
        student: nn.Module,
        untyped: Optional[str] = None) -> Optional[Union[dict, nn.Module]]:
    """The ``data_preprocessor`` a distiller wrapping ``student`` uses.

    None gives the student's own, so the teacher sees the student's inputs.
    A dict without ``type`` (what the Runner passes from an mmpretrain
    config's top-level ``data_preprocessor``) gets the type ``untyped``.

    Args:
        data_preprocessor (dict | nn.Module, optional): What was configured.
        student (nn.Module): The built student.
        untyped (str, optional): The type of an untyped dict, e.g.
            ``'mmpretrain.ClsDataPreprocessor'``. Defaults to None.

    Returns:
        dict | nn.Module | None: What to hand to ``BaseModel``.
    """
    if data_preprocessor is None:
        return getattr(student, 'data_preprocessor', None)
    if untyped is not None and isinstance(data_preprocessor, dict) and \
            'type' not in data_preprocessor:
        return dict(data_preprocessor, type=untyped)
    return data_preprocessor
