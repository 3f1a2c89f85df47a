# Copyright (c) OpenMMLab. All rights reserved.
"""mmkd: knowledge distillation with Wasserstein distances for OpenMMLab.

Importing the package (directly or via ``custom_imports=dict(imports=['mmkd'])``)
registers mmkd's losses, distillers, hooks and wrappers, and allow-lists the
few types MMEngine's own checkpoints need under torch's ``weights_only=True``.
"""
from .utils import register_safe_checkpoint_globals
from .version import __version__

register_safe_checkpoint_globals()

from . import engine, evaluation, losses, models  # noqa: E402,F401

__all__ = ['__version__']
