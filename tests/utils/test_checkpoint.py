# Copyright (c) OpenMMLab. All rights reserved.
"""The weights_only allow-list: MMEngine checkpoints load, others don't."""
import os
import pickle
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint
from torch.utils.data import Dataset

import mmkd  # noqa: F401  (registers the allow-list)


class _Points(Dataset):

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(4, generator=g), label=i % 2)


class _Net(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, inputs, label=None, mode='tensor'):
        out = self.fc(inputs)
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(out, label))
        return out


def _runner(work_dir, max_iters, **kwargs) -> Runner:
    return Runner(
        model=_Net(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_Points(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False)),
        randomness=dict(seed=0),
        experiment_name=f'exp_{max_iters}_{len(os.listdir(work_dir))}',
        **kwargs)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('ckpt')
    runner = _runner(work_dir, 2)
    runner.train()
    return work_dir, runner


def test_plain_torch_refuses_runner_checkpoint(trained):
    """Without mmkd, torch >= 2.6 refuses the runner's own checkpoint."""
    work_dir, _ = trained
    code = ('import torch, sys; torch.load(sys.argv[1], weights_only=True)')
    proc = subprocess.run(
        [sys.executable, '-c', code,
         str(work_dir / 'iter_2.pth')],
        capture_output=True,
        text=True)
    assert proc.returncode != 0
    assert 'Weights only load failed' in proc.stderr


def test_runner_checkpoint_loads_weights_only(trained):
    work_dir, runner = trained
    ckpt = _load_checkpoint(str(work_dir / 'iter_2.pth'), map_location='cpu')
    buffers = ckpt['message_hub']['log_scalars']
    assert isinstance(buffers['train/loss'], HistoryBuffer)
    # The statistics methods survive the narrow getattr.
    assert buffers['train/loss'].mean() == pytest.approx(
        runner.message_hub.get_scalar('train/loss').mean())
    torch.testing.assert_close(ckpt['state_dict']['fc.weight'],
                               runner.model.fc.weight.detach())


def test_resume_continues_training(trained, tmp_path):
    work_dir, first = trained
    resumed = _runner(
        work_dir, 4, resume=True, load_from=str(work_dir / 'iter_2.pth'))
    resumed.train()
    assert resumed.iter == 4
    # Resuming restored the optimizer state (momentum buffers exist).
    state = resumed.optim_wrapper.optimizer.state_dict()['state']
    assert len(state) == 2


def test_load_from_restores_weights(trained, tmp_path):
    work_dir, first = trained
    runner = _runner(tmp_path, 0, load_from=str(work_dir / 'iter_2.pth'))
    runner.load_or_resume()
    torch.testing.assert_close(runner.model.fc.weight,
                               first.model.fc.weight)


class _Payload:
    """A class nobody allow-listed."""

    def __init__(self) -> None:
        self.value = 1


def test_unexpected_class_still_refused(tmp_path):
    from mmkd.utils import load_checkpoint_file
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match='_Payload'):
        load_checkpoint_file(str(path))


def test_mmengines_own_loader_still_refuses(tmp_path):
    import mmengine.runner.checkpoint as mm_ckpt
    if hasattr(mm_ckpt, '_safe_torch_load'):
        pytest.skip('this MMEngine (a fork, e.g. onedl-mmengine) retries a '
                    'refused file with weights_only=False; mmkd reads '
                    'checkpoints with its own loader, which still refuses')
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match='_Payload'):
        _load_checkpoint(str(path), map_location='cpu')


class _GetattrPayload:
    """Pickles as ``getattr(HistoryBuffer, name)``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self):
        return getattr, (HistoryBuffer, self.name)


def test_getattr_only_for_statistics(tmp_path):
    from mmkd.utils import load_weights_only
    ok = tmp_path / 'ok.pth'
    torch.save({'m': _GetattrPayload('mean')}, ok)
    assert load_weights_only(ok)['m'] is HistoryBuffer.mean

    bad = tmp_path / 'bad.pth'
    torch.save({'m': _GetattrPayload('__init__')}, bad)
    with pytest.raises(pickle.UnpicklingError, match='mmkd refuses getattr'):
        load_weights_only(bad)


def test_the_allow_list_is_restored_before_each_load(tmp_path, trained):
    """A loader that removes globals on exit (torch's safe_globals
    context, as onedl-mmengine loads with) cannot disarm mmkd's loads."""
    from mmkd.utils import load_weights_only, safe_checkpoint_globals
    work_dir, _ = trained
    with torch.serialization.safe_globals(safe_checkpoint_globals()):
        pass  # on exit: HistoryBuffer and the numpy types are removed
    ckpt = load_weights_only(work_dir / 'iter_2.pth')
    assert 'message_hub' in ckpt
