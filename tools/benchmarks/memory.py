# Copyright (c) OpenMMLab. All rights reserved.
"""Peak resident memory of a step, for the CPU benchmarks.

On Linux the peak is reset through ``/proc/self/clear_refs`` after
``malloc_trim`` (so memory freed earlier is not counted), elsewhere the
process's ``ru_maxrss`` is used (a peak since the process started).
"""
import ctypes
import resource
import sys
from typing import Tuple

__all__ = ['reset_cpu_peak', 'cpu_peak']


def _status_bytes(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _max_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == 'darwin' else peak * 1024


def reset_cpu_peak() -> Tuple[int, str]:
    """Start a peak-RSS measurement; return (baseline bytes, mode)."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current VmRSS
        return _status_bytes('VmRSS'), 'vmhwm'
    except OSError:
        return _max_rss_bytes(), 'maxrss'


def cpu_peak(mode: str) -> int:
    """The peak resident bytes since :func:`reset_cpu_peak`."""
    return _status_bytes('VmHWM') if mode == 'vmhwm' else _max_rss_bytes()
