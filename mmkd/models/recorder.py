# Copyright (c) OpenMMLab. All rights reserved.
"""Record what modules return (or receive) during one forward.

:class:`StageRecorder` registers forward hooks only inside ``with
recorder.recording():`` and removes their handles in ``finally``, so
``predict``, exports, deep copies (EMA) and pickling never see them. The
classification distiller records logits, pooled features and backbone stages
with it; the cost-matrix builders record the input of a detector's
classification layer.
"""
from contextlib import contextmanager
from typing import (Callable, Collection, Dict, Hashable, Iterator, List,
                    Optional, Sequence, Union)

import torch.nn as nn
from torch import Tensor

__all__ = ['StageRecorder', 'last_tensor']


def last_tensor(output) -> Tensor:
    """The tensor a module returned (the last one of a tuple/list)."""
    while isinstance(output, (tuple, list)):
        if not output:
            raise ValueError('A recorded module returned an empty sequence.')
        output = output[-1]
    if not isinstance(output, Tensor):
        raise TypeError('A recorded module returned '
                        f'{type(output).__name__}, not a tensor.')
    return output


class StageRecorder:
    """Record module outputs (or inputs) with hooks, one forward at a time.

    Use as ``with recorder.recording(): model(...)``; afterwards
    ``recorder.outputs[key]`` holds what the module of ``key`` returned (the
    last tensor of a tuple), from its last call, or the list of every call
    with ``every_call``. The hooks are registered on entry and removed on
    exit, also when the forward raises.

    Args:
        modules (dict): Key -> module, or -> a sequence of modules recorded
            under the same key (in call order, e.g. one conv per FPN level).
        inputs (bool): Record each module's first input (a forward
            pre-hook) instead of its output. Defaults to False.
        every_call (bool): Keep every call's tensor in a list instead of
            the last one. Defaults to False.
        transform (callable, optional): Applied to each tensor inside the
            hook, e.g. ``detach`` and a copy of an input that a later
            in-place op would change. Defaults to None.
        raw (collection, optional): Keys whose module output is kept as
            returned (a tuple stays a tuple, e.g. a Swin stage's
            ``(tokens, (H, W))``), without ``transform``. Defaults to none.
    """

    def __init__(self,
                 modules: Dict[Hashable, Union[nn.Module,
                                               Sequence[nn.Module]]],
                 inputs: bool = False,
                 every_call: bool = False,
                 transform: Optional[Callable[[Tensor], Tensor]] = None,
                 raw: Collection[Hashable] = ()) -> None:
        self.modules = dict(modules)
        self.raw = frozenset(raw)
        self.inputs = inputs
        self.every_call = every_call
        self.transform = transform
        self.outputs: Dict[Hashable, Union[Tensor, List[Tensor]]] = {}
        self._handles: list = []

    @contextmanager
    def recording(self) -> Iterator['StageRecorder']:
        """Register the hooks for the duration of the ``with`` block."""
        self.outputs = {}
        try:
            for key, module in self.modules.items():
                group = module if isinstance(
                    module, (list, tuple, nn.ModuleList)) else [module]
                for mod in group:
                    self._handles.append(
                        mod.register_forward_pre_hook(self._pre_hook(key))
                        if self.inputs else mod.register_forward_hook(
                            self._hook(key)))
            yield self
        finally:
            self.remove()

    def _keep(self, key: Hashable, tensor: Tensor) -> None:
        if self.transform is not None:
            tensor = self.transform(tensor)
        if self.every_call:
            self.outputs.setdefault(key, []).append(tensor)
        else:
            self.outputs[key] = tensor

    def _hook(self, key: Hashable):

        def hook(module: nn.Module, args, output) -> None:
            if key in self.raw:
                self.outputs[key] = output
            else:
                self._keep(key, last_tensor(output))

        return hook

    def _pre_hook(self, key: Hashable):

        def hook(module: nn.Module, args) -> None:
            self._keep(key, args[0])

        return hook

    def take(self, key: Hashable) -> List[Tensor]:
        """The calls of ``key`` recorded so far (``every_call``), removed
        from ``outputs`` so the next forward starts afresh."""
        return self.outputs.pop(key, [])

    def remove(self) -> None:
        """Remove every registered hook."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @property
    def num_hooks(self) -> int:
        """Number of hooks currently registered."""
        return len(self._handles)

    def get(self, key: Hashable, role: str, where: str = '') -> Tensor:
        """The recorded output of ``key``; a clear error if it never ran.

        Args:
            key: A recorded key.
            role (str): Whose model it is (``'student'``), for the message.
            where (str): What ``key`` is, for the message. Defaults to
                ``backbone.<key>``.
        """
        if key not in self.outputs:
            raise RuntimeError(
                f'{where or f"backbone.{key}"} of the {role} did not run '
                'during the forward (is it used by the backbone for this '
                'input?); choose another stage.')
        return self.outputs[key]
