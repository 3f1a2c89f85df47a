# Copyright (c) OpenMMLab. All rights reserved.
"""mmkd.utils.finish_distributed: the tools' tear-down of a distributed run."""
import torch.distributed as dist

from mmkd.utils import finish_distributed


def test_finish_distributed_leaves_the_process_group(tmp_path):
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
        world_size=1)
    try:
        finish_distributed()
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_finish_distributed_without_a_process_group_does_nothing():
    assert not dist.is_initialized()
    finish_distributed()
    assert not dist.is_initialized()
