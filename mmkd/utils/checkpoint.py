# Copyright (c) OpenMMLab. All rights reserved.
"""Let torch >= 2.6 load MMEngine's own checkpoints with ``weights_only=True``.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and refuses any
pickled global that is not allow-listed. MMEngine 0.10.7 calls ``torch.load``
without the argument, and the checkpoints its runner writes carry a few
harmless non-tensor objects in ``message_hub`` (``HistoryBuffer`` holding
numpy arrays) and numpy scalars in ``meta``. Rather than turning the safety
off for every file, we allow-list exactly those types; anything else in a
checkpoint is still refused by torch.

mmkd reads checkpoint files itself (:func:`load_checkpoint_file`) rather than
through MMEngine's loader: OneDL's fork of MMEngine (onedl-mmengine 0.10.12)
retries a file that ``weights_only=True`` refuses with
``weights_only=False``, which runs whatever code the pickle holds, and the
temporary allow-list it loads with removes, on exit, globals that were
registered before it (mmkd's among them).
"""
import argparse
import os.path as osp
import pickle
from typing import Any, List, Tuple, Union

import numpy as np
import torch


def _numpy_globals() -> List[object]:
    """Numpy callables and classes that pickled arrays and scalars use."""
    # numpy 2 moved ``numpy.core`` to ``numpy._core``; support both.
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0':
        from numpy._core import multiarray
    else:
        from numpy.core import multiarray
    allowed: List[object] = [
        multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype
    ]
    # Plain numeric dtypes only: the object dtype is deliberately left out.
    for name in getattr(np.dtypes, '__all__', []):
        dtype_cls = getattr(np.dtypes, name)
        kind = getattr(dtype_cls, 'type', None)
        if kind is not None and issubclass(kind, (np.bool_, np.number)):
            allowed.append(dtype_cls)
    return allowed


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """A ``getattr`` that resolves only ``HistoryBuffer`` statistics methods.

    ``HistoryBuffer`` pickles its ``_statistics_methods`` registry as
    ``getattr(HistoryBuffer, 'mean')`` etc. Allow-listing the builtin
    ``getattr`` would let a checkpoint reach any attribute of any allowed
    object, so the unpickler gets this narrow stand-in under that name.
    """
    from mmengine.logging import HistoryBuffer
    allowed = {'min', 'max', 'mean', 'current'}
    allowed.update(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'mmkd refuses getattr({obj!r}, {name!r}) while loading a '
        'checkpoint with weights_only=True; only HistoryBuffer statistics '
        'methods are allowed. Load the file with weights_only=False only if '
        'you trust its source.')


def safe_checkpoint_globals() -> List[Union[object, Tuple[object, str]]]:
    """The globals that MMEngine runner checkpoints and the shared CIFAR
    teacher files (``{'model': state_dict, ...}`` with the training
    options as an ``argparse.Namespace``) need to be unpickled.

    ``argparse.Namespace`` is a plain attribute bag: unpickling one only
    sets its ``__dict__``, so it runs no code.

    Returns:
        list: Classes and functions (or ``(function, pickled_name)`` pairs)
        to pass to ``torch.serialization.add_safe_globals``.
    """
    from mmengine.logging import HistoryBuffer
    return [
        HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'),
        argparse.Namespace, *_numpy_globals()
    ]


def register_safe_checkpoint_globals() -> None:
    """Allow-list the types of :func:`safe_checkpoint_globals` in torch.

    Safe to call repeatedly; a no-op on torch versions without
    ``add_safe_globals`` (< 2.4), where ``weights_only`` is not the default.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return
    registered = {
        id(g[0] if isinstance(g, tuple) else g)
        for g in torch.serialization.get_safe_globals()
    }
    add([
        g for g in safe_checkpoint_globals()
        if id(g[0] if isinstance(g, tuple) else g) not in registered
    ])


#: Prefixes of checkpoint locations that MMEngine downloads.
REMOTE_PREFIXES = ('http://', 'https://', 'torchvision://', 'open-mmlab://',
                   'openmmlab://', 'mmcls://', 's3://', 'pavi://')


def load_weights_only(file: str, map_location: Any = 'cpu') -> Any:
    """``torch.load(file, weights_only=True)`` with mmkd's allow-list in
    place, whatever changed torch's list since ``import mmkd``.

    Args:
        file (str): A local file.
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.

    Raises:
        pickle.UnpicklingError: If the file holds anything else than
            tensors, containers, numbers, strings and the types of
            :func:`safe_checkpoint_globals` (torch's message names it).
    """
    register_safe_checkpoint_globals()
    return torch.load(file, map_location=map_location, weights_only=True)


def load_checkpoint_file(filename: str, map_location: Any = 'cpu') -> Any:
    """A checkpoint: a local file with :func:`load_weights_only` (refused,
    never retried unsafely, if it holds code), a URL through MMEngine's
    ``CheckpointLoader``, which downloads and caches it.

    Args:
        filename (str): Local path (``~`` expanded) or URL.
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.
    """
    if filename.startswith(REMOTE_PREFIXES):
        from mmengine.runner.checkpoint import CheckpointLoader
        register_safe_checkpoint_globals()
        return CheckpointLoader.load_checkpoint(filename,
                                                map_location=map_location)
    return load_weights_only(osp.expanduser(filename), map_location)
