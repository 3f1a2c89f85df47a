# Copyright (c) OpenMMLab. All rights reserved.
"""Shared settings of the loss tests."""
import pytest
import torch


@pytest.fixture(autouse=True)
def single_torch_thread():
    """Run each loss test on one intra-op thread, then restore the count.

    The tensors here are small; with two OpenMP threads on a busy 2-core
    machine every op can stall on a descheduled thread, which made the
    suite several times slower without exercising anything different.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def mmkd_default_scope():
    """Build unscoped loss types (``type='KDLoss'``) in mmkd's scope.

    Tests elsewhere in the suite leave MMEngine's global default scope at
    'mmdet' or 'mmpretrain', where the unscoped names do not resolve.
    """
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmkd'):
        yield
