# Copyright (c) OpenMMLab. All rights reserved.
"""mmkd: knowledge distillation with Wasserstein distances for OpenMMLab.

Importing the package (directly or via ``custom_imports=dict(imports=['mmkd'])``)
checks the installed OpenMMLab stack (:mod:`mmkd.stack`), registers mmkd's
losses, distillers, hooks and wrappers, lets ``mmkd::`` config paths resolve
(``_base_ = 'mmkd::coco/...'``, ``mmengine.hub.get_config``) and allow-lists
the few types MMEngine's own checkpoints need under torch's
``weights_only=True``.
"""
from .stack import check_stack
from .version import __version__

check_stack()

from mmengine.config.utils import MODULE2PACKAGE  # noqa: E402

from .utils import register_safe_checkpoint_globals  # noqa: E402

# The package that `mmkd::` config paths name (its configs are in mmkd/.mim).
MODULE2PACKAGE.setdefault('mmkd', 'mmkd')
register_safe_checkpoint_globals()

from . import engine, evaluation, losses, models  # noqa: E402,F401

__all__ = ['__version__']
