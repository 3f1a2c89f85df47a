# Copyright (c) OpenMMLab. All rights reserved.
"""Toy datasets made by mmkd (pure numpy / PIL / scikit-learn)."""
from .toy_digits import *  # noqa: F401,F403
from .toy_digits import __all__  # noqa: F401
