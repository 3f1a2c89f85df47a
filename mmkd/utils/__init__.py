# Copyright (c) OpenMMLab. All rights reserved.
from .checkpoint import (load_checkpoint_file, load_weights_only,
                         register_safe_checkpoint_globals,
                         safe_checkpoint_globals)
from .launch import (enable_amp, finish_distributed, init_cpu_distributed,
                     load_tool_config)

__all__ = [
    'register_safe_checkpoint_globals', 'safe_checkpoint_globals',
    'load_checkpoint_file', 'load_weights_only',
    'enable_amp', 'finish_distributed', 'init_cpu_distributed',
    'load_tool_config'
]
