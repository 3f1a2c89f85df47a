# Copyright (c) OpenMMLab. All rights reserved.
"""Save student-only checkpoints that the plain student config loads."""
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmkd.apis.export import save_student_checkpoint
from mmkd.models.checkpoint_io import student_state_dict_from
from mmkd.registry import HOOKS
from .utils import runner_distiller

__all__ = ['StudentCheckpointHook']


@HOOKS.register_module()
class StudentCheckpointHook(Hook):
    """Write the student alone, loadable by its own mmdet/mmpretrain config.

    At the end of training it writes ``<out_dir>/<filename>``; with
    ``save_with_checkpoints`` it also writes ``student_epoch_<n>.pth`` (or
    ``student_iter_<n>.pth``) next to every regular checkpoint. Runs after
    nothing else needs the model, so its priority is ``VERY_LOW`` like
    ``CheckpointHook``.

    Args:
        filename (str): Name of the final student checkpoint. Defaults to
            ``'student_final.pth'``.
        out_dir (str, optional): Defaults to the work dir.
        save_with_checkpoints (bool): Also export with each regular
            checkpoint. Defaults to False.
        by_epoch (bool): Name the per-checkpoint files by epoch or by
            iteration; match ``CheckpointHook``. Defaults to True.
    """
    priority = 'VERY_LOW'

    def __init__(self,
                 filename: str = 'student_final.pth',
                 out_dir: Optional[str] = None,
                 save_with_checkpoints: bool = False,
                 by_epoch: bool = True) -> None:
        if not isinstance(filename, str) or not filename:
            raise ValueError(
                f'filename must be a non-empty str, got {filename!r}.')
        self.filename = filename
        self.out_dir = out_dir
        self.save_with_checkpoints = bool(save_with_checkpoints)
        self.by_epoch = bool(by_epoch)

    def _dir(self, runner) -> str:
        return self.out_dir if self.out_dir is not None else runner.work_dir

    def before_train(self, runner) -> None:
        runner_distiller(runner, 'student_state_dict',
                         'StudentCheckpointHook')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.save_with_checkpoints or not is_main_process():
            return
        meta = checkpoint.get('meta', {})
        name = (f"student_epoch_{meta.get('epoch', runner.epoch)}.pth"
                if self.by_epoch else
                f"student_iter_{meta.get('iter', runner.iter)}.pth")
        save_student_checkpoint(
            student_state_dict_from(checkpoint['state_dict']),
            osp.join(self._dir(runner), name), meta)

    def after_train(self, runner) -> None:
        if not is_main_process():
            return
        model = runner_distiller(runner, 'student_state_dict',
                                 'StudentCheckpointHook')
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        dataset = getattr(runner.train_dataloader, 'dataset', None)
        if hasattr(dataset, 'metainfo'):
            meta['dataset_meta'] = dataset.metainfo
        out = save_student_checkpoint(model.student_state_dict(),
                                      osp.join(self._dir(runner),
                                               self.filename), meta)
        print_log(f'Saved the student alone to {out}', logger='current')
