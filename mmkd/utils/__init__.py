# Copyright (c) OpenMMLab. All rights reserved.
from .checkpoint import (register_safe_checkpoint_globals,
                         safe_checkpoint_globals)
from .launch import (enable_amp, finish_distributed, init_cpu_distributed,
                     load_tool_config)

__all__ = [
    'register_safe_checkpoint_globals', 'safe_checkpoint_globals',
    'enable_amp', 'finish_distributed', 'init_cpu_distributed',
    'load_tool_config'
]
