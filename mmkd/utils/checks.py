# Copyright (c) OpenMMLab. All rights reserved.
"""The argument checks that configs go through: integers and choices.

Errors are ``ValueError`` naming the argument, what it must be and what it
got, so a wrong config value is fixed from the message alone.
"""
from typing import Any, Optional, Sequence

__all__ = ['check_int', 'check_choice']


def check_int(name: str,
              value: Any,
              minimum: int = 1,
              allow_none: bool = False) -> Optional[int]:
    """``value`` if it is an int (not a bool) ``>= minimum``.

    Args:
        name (str): The argument, for the message.
        value: What was given.
        minimum (int): The smallest value allowed. Defaults to 1.
        allow_none (bool): Also accept None. Defaults to False.

    Returns:
        int | None: ``value``.

    Raises:
        ValueError: Otherwise.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or \
            value < minimum:
        what = 'a positive integer' if minimum == 1 else \
            f'an int >= {minimum}'
        raise ValueError(f'{name} must be {what}, but got {value!r}.')
    return value


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """``value`` if it is one of ``choices``.

    Args:
        name (str): The argument, for the message.
        value: What was given.
        choices (Sequence): The allowed values.

    Returns:
        ``value``.

    Raises:
        ValueError: Otherwise.
    """
    if value not in tuple(choices):
        raise ValueError(f'{name} must be one of {tuple(choices)}, but got '
                         f'{value!r}.')
    return value
