# Copyright (c) OpenMMLab. All rights reserved.
"""setup.py states the torch release that mmkd's own code needs."""
import glob
import os.path as osp
import re
from typing import Tuple

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _uses(text: str) -> bool:
    """Whether a source file of mmkd/ or tools/ contains ``text``."""
    files = glob.glob(osp.join(ROOT, 'mmkd', '**', '*.py'), recursive=True)
    files += glob.glob(osp.join(ROOT, 'tools', '**', '*.py'), recursive=True)
    for path in files:
        with open(path, encoding='utf-8') as f:
            if text in f.read():
                return True
    return False


def _uses_named_safe_globals() -> bool:
    from mmkd.utils.checkpoint import safe_checkpoint_globals
    return any(isinstance(g, tuple) for g in safe_checkpoint_globals())


#: torch APIs newer than 2.0 that mmkd calls unguarded, the first release
#: that has them (the pytorch pull request that added them), and how to
#: tell that mmkd still uses them.
NEWER_TORCH_APIS = [
    # pytorch#124938 (April 2024)
    ('torch.amp.is_autocast_available', (2, 4),
     lambda: _uses('torch.amp.is_autocast_available(')),
    # pytorch#131690 (July 2024): public name of _register_state_dict_hook
    ('nn.Module.register_state_dict_post_hook', (2, 5),
     lambda: _uses('.register_state_dict_post_hook(')),
    # pytorch#142153 (December 2024): (global, 'module.name') entries
    ("torch.serialization.add_safe_globals([(obj, 'module.name')])",
     (2, 6), _uses_named_safe_globals),
]


def _version(text: str) -> Tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r'\d+', text)[:2])


def _stated_torch_minimum() -> Tuple[int, ...]:
    with open(osp.join(ROOT, 'setup.py'), encoding='utf-8') as f:
        found = re.findall(r"['\"]torch>=([0-9.]+)['\"]", f.read())
    assert len(found) == 1, f'setup.py states torch>= {len(found)} times'
    return _version(found[0])


def test_setup_states_the_torch_release_of_the_newest_api_used():
    used = [(name, v) for name, v, in_use in NEWER_TORCH_APIS if in_use()]
    assert used, 'none of the listed APIs is used: update NEWER_TORCH_APIS'
    newest_name, newest = max(used, key=lambda item: item[1])
    stated = _stated_torch_minimum()
    assert stated >= newest, (
        f'setup.py says torch>={".".join(map(str, stated))}, but mmkd uses '
        f'{newest_name}, new in torch {".".join(map(str, newest))}')


def test_the_installed_torch_meets_the_stated_minimum():
    assert _version(torch.__version__) >= _stated_torch_minimum()
