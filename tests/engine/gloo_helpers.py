# Copyright (c) OpenMMLab. All rights reserved.
"""Two-process CPU (gloo) set-up shared by the distributed tests."""
import socket
from datetime import timedelta
from typing import Callable, Tuple

import torch
import torch.multiprocessing as mp


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def init_gloo(rank: int, port: int, world_size: int = 2,
              timeout_s: int = 180) -> None:
    """Join the test's process group, one intra-op thread per process.

    The timeout turns a collective that never completes (a regression that
    would hang) into an error after ``timeout_s`` seconds.
    """
    import torch.distributed as dist
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=world_size, timeout=timedelta(seconds=timeout_s))
    torch.set_num_threads(1)


def spawn_two(worker: Callable, *args: Tuple) -> None:
    """Run ``worker(rank, port, *args)`` in two processes and wait."""
    mp.spawn(worker, args=(free_port(), *args), nprocs=2, join=True)
