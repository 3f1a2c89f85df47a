# Copyright (c) OpenMMLab. All rights reserved.
"""mmkd's registries, children of MMEngine's root registries.

Each child names the modules that register into it (``locations``), so a config in
any scope (``default_scope='mmdet'`` or ``'mmpretrain'``) can say
``type='mmkd.WKDLogitLoss'`` and MMEngine imports what is needed, the same
pattern as ``mmdet/registry.py``.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

#: Losses, distillers, connectors and backbones.
MODELS = Registry(
    'model', parent=MMENGINE_MODELS, locations=['mmkd.losses', 'mmkd.models'])
#: Distillation hooks (weight schedules, stop-distillation, student export).
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['mmkd.engine'])
#: CPU-capable distributed wrapper.
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    locations=['mmkd.engine'])
#: Calibration and distribution metrics.
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, locations=['mmkd.evaluation'])
