# Copyright (c) OpenMMLab. All rights reserved.
"""A distributed wrapper that also trains on CPU (gloo)."""
import torch.nn as nn
from mmengine.model import MMDistributedDataParallel

from mmkd.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class MMKDDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that accepts CPU modules.

    MMEngine's runner always passes ``device_ids=[LOCAL_RANK]``, which
    ``DistributedDataParallel`` rejects for a module on the CPU. This wrapper
    drops ``device_ids`` and ``output_device`` when the module lives on the
    CPU and otherwise behaves exactly like its parent, so a config can select
    it unconditionally with
    ``model_wrapper_cfg=dict(type='mmkd.MMKDDistributedDataParallel')``.

    Args:
        module (nn.Module): The model to wrap.
        detect_anomalous_params (bool): See ``MMDistributedDataParallel``.
            Defaults to False.
        **kwargs: Passed to ``DistributedDataParallel``.
    """

    def __init__(self,
                 module: nn.Module,
                 detect_anomalous_params: bool = False,
                 **kwargs) -> None:
        first = next(module.parameters(), None)
        if first is None or first.device.type == 'cpu':
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(
            module=module,
            detect_anomalous_params=detect_anomalous_params,
            **kwargs)
