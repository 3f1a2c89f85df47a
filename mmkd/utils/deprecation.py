# Copyright (c) OpenMMLab. All rights reserved.
"""Old names kept for one release after a rename."""
import functools
import warnings
from typing import Callable

__all__ = ['renamed']


def renamed(func: Callable, old: str, new: str) -> Callable:
    """``func`` under its old name ``old``, warning that it is now ``new``.

    Args:
        func (callable): The function under its new name.
        old (str): The old dotted name, e.g. ``'mmkd.apis.load_cost_matrix'``.
        new (str): The new dotted name.

    Returns:
        callable: A wrapper that emits a ``DeprecationWarning`` and calls
        ``func``.
    """

    @functools.wraps(func)
    def alias(*args, **kwargs):
        warnings.warn(
            f'{old} is renamed {new}; the old name is removed in the next '
            'release.',
            DeprecationWarning,
            stacklevel=2)
        return func(*args, **kwargs)

    alias.__name__ = old.rsplit('.', 1)[-1]
    return alias
