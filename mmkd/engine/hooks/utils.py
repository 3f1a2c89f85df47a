# Copyright (c) OpenMMLab. All rights reserved.
"""The distiller behind a runner, for mmkd's hooks."""
from mmengine.model import is_model_wrapper

__all__ = ['runner_distiller']


def runner_distiller(runner, method: str, hook: str):
    """The runner's model without its (DDP) wrapper, checked to be a
    distiller: a model with a callable ``method``.

    Args:
        runner: The MMEngine runner.
        method (str): What the hook calls, e.g. ``'set_cost_matrix'``.
        hook (str): The hook's name, for the message.

    Raises:
        TypeError: If the model has no ``method``.
    """
    model = runner.model
    if is_model_wrapper(model):
        model = model.module
    if not callable(getattr(model, method, None)):
        raise TypeError(
            f'{hook} needs a distiller (a model with `{method}`), but the '
            f'model is {type(model).__name__}.')
    return model
