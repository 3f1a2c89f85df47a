# Copyright (c) OpenMMLab. All rights reserved.
"""Set-up and tear-down shared by ``tools/train.py`` and ``tools/test.py``."""
import gc
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

CPU_WRAPPER = 'mmkd.MMKDDistributedDataParallel'


def init_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Start a gloo process group when distributed training has no GPU.

    MMEngine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` even for
    gloo and fails without a driver. A process group that already exists
    makes the runner skip its own initialisation, and the runner's default
    DDP wrapper (``device_ids=[LOCAL_RANK]``) is swapped for one that
    accepts CPU modules. Does nothing with a GPU or ``launcher='none'``.

    Args:
        cfg (Config): The full config; ``model_wrapper_cfg`` may be set.
        launcher (str): The job launcher (``'none'``, ``'pytorch'``, ...).
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise ValueError(
            f'CPU distributed training supports --launcher pytorch '
            f'(torchrun, tools/dist_train.sh), got {launcher!r}.')
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or {}
    if wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', 'mmengine.MMDistributedDataParallel'):
        wrapper = dict(wrapper)
        wrapper['type'] = CPU_WRAPPER
        wrapper.setdefault('broadcast_buffers', False)
        wrapper.setdefault('find_unused_parameters',
                           cfg.get('find_unused_parameters', False))
        cfg.model_wrapper_cfg = wrapper


def finish_distributed() -> None:
    """Leave the default process group once every rank is done with it.

    MMEngine's runner never destroys the process group, so the ranks of a
    finished run tear their connections down at interpreter exit, each at
    its own moment; with gloo a rank whose peer had already gone was now and
    then aborted there (``terminate called without an active exception``),
    which failed a run that had trained and saved everything. Collecting
    garbage first is meant to drop finished work objects that gloo's
    threads would otherwise release during shutdown; the barrier keeps a
    rank from tearing down before every rank has arrived (the same recipe
    stopped the aborts of the DDP tests). Call it where all ranks arrive
    (after ``runner.train()`` or ``runner.test()``); it does nothing
    outside a distributed run.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    gc.collect()
    torch_dist.barrier()
    torch_dist.destroy_process_group()


def load_tool_config(config: str,
                     launcher: str = 'none',
                     cfg_options: Optional[dict] = None,
                     work_dir: Optional[str] = None) -> Config:
    """Load a config the way mmdet's and mmpretrain's tools do.

    Merges ``--cfg-options``, resolves ``work_dir`` (CLI, then the config,
    then ``./work_dirs/<config name>``) and sets up CPU distributed runs.

    Args:
        config (str): Path of the config file.
        launcher (str): The job launcher. Defaults to ``'none'``.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        work_dir (str, optional): ``--work-dir``.

    Returns:
        Config: The config, ready for ``Runner.from_cfg``.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = '0'
    try:
        cfg = Config.fromfile(config)
    except ModuleNotFoundError as e:
        # MMEngine's "<package> is not installed" for an 'mmdet::' base
        _require_scope(str(e).split(' ', 1)[0], config, e)
        raise
    _require_scope(cfg.get('default_scope', None), config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    if cfg.get('default_scope', None) not in ('mmdet', 'mmpretrain'):
        raise ValueError(
            f'{config} has default_scope={cfg.get("default_scope")!r}; mmkd '
            "tools run mmdet or mmpretrain configs: inherit their "
            "default_runtime or set default_scope='mmdet' / 'mmpretrain'.")
    init_cpu_distributed(cfg, launcher)
    return cfg


def _require_scope(scope: Optional[str],
                   config: str,
                   cause: Optional[Exception] = None) -> None:
    """Raise :mod:`mmkd.stack`'s message (what is missing, how to install
    it) when a config's package is not usable here."""
    from mmkd.stack import require_classification, require_detection
    require = dict(
        mmdet=require_detection, mmpretrain=require_classification).get(scope)
    if require is None:
        return
    try:
        require(f'{config} (an {scope} config)')
    except ImportError as e:
        raise e from cause


def enable_amp(cfg: Config) -> None:
    """Switch the optimiser wrapper to ``AmpOptimWrapper`` (``--amp``).

    Raises:
        ValueError: Without a GPU: MMEngine 0.10.7's ``AmpOptimWrapper``
            supports CUDA, NPU, MLU and MUSA devices only.
    """
    if not torch.cuda.is_available():
        raise ValueError(
            '--amp needs a GPU: MMEngine 0.10.7 AmpOptimWrapper does not '
            'run on the CPU. Drop --amp here; distillation losses are '
            'computed in float32 either way.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'
