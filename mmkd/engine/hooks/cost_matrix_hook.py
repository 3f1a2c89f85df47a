# Copyright (c) OpenMMLab. All rights reserved.
"""Build (once) and install the WKD-L cost matrix before training."""
import copy
import logging
import os.path as osp
import time
from typing import Optional, Sequence

from mmengine.dist import broadcast_object_list, get_world_size, \
    is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmkd.apis.cls_cost_matrix import CLS_FEATURE_SOURCES
from mmkd.apis.cost_io import (load_cost_matrix_and_record,
                               load_official_cost_matrix, save_cost_matrix)
from mmkd.apis.cost_matrix import build_teacher_cost_matrix, cost_matrix_names
from mmkd.apis.cost_record import cost_matrix_record, record_mismatch
from mmkd.registry import HOOKS
from mmkd.utils.checks import check_choice
from .utils import runner_distiller

__all__ = ['CostMatrixHook']

#: Where the hook keeps its matrix in a training checkpoint.
CHECKPOINT_KEY = 'mmkd_cost_matrices'


@HOOKS.register_module()
class CostMatrixHook(Hook):
    """Give WKD-L its cost matrix, building it from the teacher if needed.

    In ``before_train``, the main process looks for ``cost_file``:

    - found, with a record of what it was built from that matches this run
      (teacher weights, class features, ``kappa``, ``num_per_class``,
      ``bg_per_image``, class names), or without a record (the official
      ``.pth`` files): it is used;
    - found but built for something else: a ``ValueError`` names each
      differing value (delete the file or set ``rebuild=True``);
    - missing (or ``rebuild=True``): every rank runs the teacher over its
      own shard of a fresh copy of the training dataloader (or of
      ``dataloader``; the training loader itself is never left mid-pass)
      in parallel, the class features of all ranks are gathered, the main
      process computes the matrix and broadcasts it, and writes
      ``cost_file`` (with its record) and a heatmap PNG beside it,
      atomically. A failure on one rank (a bad label, a full disk) is
      raised on every rank instead of leaving them waiting.

    Every rank receives the matrix as a tensor, so no rank reads a file
    another rank wrote (multi-node runs need no shared file system). The
    teacher sees the batches as training feeds it
    (:meth:`~mmkd.models.BaseDistiller.teacher_data`). The matrix is then
    handed to ``model.set_cost_matrix``, which checks its size against the
    logits. Configure the WKD-L loss with ``cost_matrix=None`` when this
    hook provides it.

    The matrix is also stored in the training checkpoints (not in the
    student's weights), and a resumed run uses the stored one, whatever
    happened to ``cost_file`` since.

    A two-stage detector teacher (one with a ``roi_head``,
    :class:`~mmkd.models.DetectionDistiller`) gives a ``(num_classes + 1)``
    square matrix from its RoI features, background last
    (:func:`~mmkd.apis.build_detection_cost_matrix`); a one-stage one (a
    dense ``bbox_head``, :class:`~mmkd.models.SingleStageDistiller`) the
    same size from its head's classification-branch features at the
    priors its assignment makes positive, background last
    (:func:`~mmkd.apis.build_dense_cost_matrix`); a classifier teacher a
    ``num_classes`` square one from its logits or penultimate features
    (:func:`~mmkd.apis.build_classification_cost_matrix`). The class names
    come from the training dataset's ``metainfo['classes']``.

    Args:
        cost_file (str): Where the matrix is cached (``.pth``).
        terms (list[str], optional): Terms to receive it. Defaults to every
            term whose loss has ``set_cost_matrix``.
        kappa (float): Sharpening of ``1 - exp(-kappa (1 - CKA))``.
            Defaults to 1.0.
        num_per_class (int): Samples per class (all ranks together).
            Defaults to 100.
        bg_per_image (int): Background RoIs (two-stage) or locations
            (one-stage) per image (detectors only). Defaults to 16.
        max_batches (int, optional): Limit on the batches each rank reads
            (at most one pass over its shard either way).
        dataloader (dict, optional): Dataloader config to read instead of the
            training dataloader.
        heatmap (bool): Also write the PNG. Defaults to True.
        seed (int): Seed of the background draw (detectors only).
            Defaults to 0.
        source (str): What a classifier teacher's class features are:
            ``'logits'`` (as the official ImageNet matrices),
            ``'pre_logits'`` (the head's input, as the paper) or
            ``'feature'`` (every position of the backbone's distilled stage,
            as the official CIFAR matrices; ``num_per_class`` then counts
            positions, 32000 for 500 CIFAR images of 8x8). Classifiers
            only; detectors use their RoI head's penultimate features
            (two-stage) or their dense head's classification-branch
            features (one-stage).
            Defaults to ``'logits'``.
        rebuild (bool): Build the matrix even if ``cost_file`` exists, and
            overwrite it (a resumed run still keeps its checkpoint's
            matrix). Defaults to False.
        official_file (str, optional): An official WKD
            ``*_linear_cka.pth`` (it holds ``1 - CKA``) to use instead of
            building: it is sharpened with ``kappa``
            (:func:`~mmkd.apis.load_official_cost_matrix`) and nothing is
            written. Defaults to None.
    """
    priority = 'VERY_HIGH'

    def __init__(self,
                 cost_file: str,
                 terms: Optional[Sequence[str]] = None,
                 kappa: float = 1.0,
                 num_per_class: int = 100,
                 bg_per_image: int = 16,
                 max_batches: Optional[int] = None,
                 dataloader: Optional[dict] = None,
                 heatmap: bool = True,
                 seed: int = 0,
                 source: str = 'logits',
                 rebuild: bool = False,
                 official_file: Optional[str] = None) -> None:
        if not isinstance(cost_file, str) or not cost_file:
            raise ValueError(
                f'cost_file must be a non-empty path, got {cost_file!r}.')
        if osp.splitext(cost_file)[1].lower() not in ('.pth', '.pt'):
            raise ValueError(
                f'cost_file {cost_file!r}: the hook writes the matrix with '
                "torch.save; give it a '.pth' (or '.pt') name.")
        if not float(kappa) > 0:
            raise ValueError(f'kappa must be > 0, got {kappa!r}.')
        check_choice('source', source, CLS_FEATURE_SOURCES)
        self.cost_file = cost_file
        self.terms = list(terms) if terms is not None else None
        self.kappa = float(kappa)
        self.num_per_class = num_per_class
        self.bg_per_image = bg_per_image
        self.max_batches = max_batches
        self.dataloader = dataloader
        self.heatmap = heatmap
        self.seed = seed
        self.source = source
        self.rebuild = bool(rebuild)
        self.official_file = official_file
        self._checkpointed: Optional[dict] = None
        self._installed: Optional[dict] = None

    # ------------------------------------------------------------------
    @staticmethod
    def _classes(dataloader) -> Optional[list]:
        metainfo = getattr(getattr(dataloader, 'dataset', None), 'metainfo',
                           None)
        classes = metainfo.get('classes') if metainfo else None
        return list(classes) if classes else None

    def _record(self, model, classes: Optional[list], **extra) -> dict:
        return cost_matrix_record(
            model.teacher,
            kappa=self.kappa,
            num_per_class=self.num_per_class,
            class_names=cost_matrix_names(model.teacher, classes),
            source=self.source,
            bg_per_image=self.bg_per_image,
            teacher_ckpt=getattr(model, 'teacher_ckpt', None),
            teacher_config=getattr(model, 'teacher_config', None),
            **extra)

    def _read_file(self, runner, model) -> tuple:
        """On the main process: ``('use', cost, record)`` for a usable file,
        ``('build', None, None)`` or ``('error', message, None)``."""
        if self.official_file is not None:
            try:
                return 'use', load_official_cost_matrix(
                    self.official_file, self.kappa), None
            except Exception as e:  # noqa: BLE001 - re-raised on every rank
                return 'error', f'official_file: {type(e).__name__}: {e}', None
        if self.rebuild or not osp.isfile(self.cost_file):
            return 'build', None, None
        try:
            cost, stored = load_cost_matrix_and_record(self.cost_file)
            expected = self._record(
                model, self._classes(runner.train_dataloader))
            diff = record_mismatch(stored, expected)
        except Exception as e:  # noqa: BLE001 - re-raised on every rank
            return 'error', f'{type(e).__name__}: {e}', None
        if diff:
            return 'error', (
                f'The cost file {self.cost_file!r} was built for another run:'
                f'\n{diff}\nDelete the file, or set rebuild=True on '
                "CostMatrixHook (e.g. --cfg-options 'custom_hooks.0.rebuild="
                "True'), to build it again for this run; or point cost_file "
                'at another path.'), None
        return 'use', cost, stored

    def _build_loader(self, runner):
        """A dataloader of its own for the build: ``dataloader``, or a fresh
        one from the training dataloader's config.

        The build usually stops part-way through a pass, and a sampler
        left mid-pass keeps state (mmdet's ``AspectRatioBatchSampler``
        holds its unfinished aspect-ratio buckets), which would give the
        ranks different numbers of iterations in the first epoch.
        """
        cfg = self.dataloader
        if cfg is None:
            cfg = getattr(getattr(runner, 'cfg', None), 'train_dataloader',
                          None)
            if cfg is None:  # a runner without a config: nothing to copy
                return runner.train_dataloader
            cfg = copy.deepcopy(cfg)
            cfg['persistent_workers'] = False
        return runner.build_dataloader(cfg, seed=getattr(runner, 'seed',
                                                         None))

    def _build(self, runner, model):
        """On every rank: build the matrix from the teacher; the main
        process writes it."""
        dataloader = self._build_loader(runner)
        # the classes the student trains on name the rows (also in the
        # record a later run compares with)
        classes = self._classes(runner.train_dataloader)
        print_log(
            f'Building the WKD-L cost matrix {self.cost_file} from the '
            f'teacher on {get_world_size()} process(es), each reading its '
            'own shard (cached for later runs) ...',
            logger='current')
        start = time.perf_counter()
        cost, names = build_teacher_cost_matrix(
            model.teacher,
            dataloader,
            kappa=self.kappa,
            num_per_class=self.num_per_class,
            max_batches=self.max_batches,
            class_names=classes,
            bg_per_image=self.bg_per_image,
            seed=self.seed,
            source=self.source,
            preprocess=model.teacher_data)
        record = self._record(
            model, classes, seed=self.seed, world_size=get_world_size())
        print_log(
            f'Built the cost matrix {tuple(cost.shape)} in '
            f'{time.perf_counter() - start:.1f} s.',
            logger='current')
        error, failure = [None], None
        if is_main_process():
            try:
                written = save_cost_matrix(cost, self.cost_file, names,
                                           self.heatmap, record)
                print_log(f'Wrote {", ".join(written)}', logger='current')
            except Exception as e:  # noqa: BLE001 - raised on every rank
                error, failure = [f'{type(e).__name__}: {e}'], e
        broadcast_object_list(error)
        if failure is not None:
            raise failure
        if error[0] is not None:
            raise RuntimeError(
                f'The main process could not write {self.cost_file}: '
                f'{error[0]}')
        return cost, record

    def before_train(self, runner) -> None:
        model = runner_distiller(runner, 'set_cost_matrix', 'CostMatrixHook')
        model.cost_matrix_terms(self.terms)  # fail before a long build
        resumed = runner.iter > 0 or runner.epoch > 0
        if resumed and self._checkpointed is not None:
            cost = self._checkpointed['cost_matrix']
            record = self._checkpointed.get('record')
            origin = 'the resumed checkpoint'
            if not osp.isfile(self.cost_file):
                print_log(
                    f'{self.cost_file} is gone; the run goes on with the '
                    'matrix kept in its checkpoint.',
                    logger='current',
                    level=logging.WARNING)
        else:
            # One process reads the file; the verdict and the matrix reach
            # the others by broadcast, so an error is raised on every rank.
            state = [None, None, None]
            if is_main_process():
                state = list(self._read_file(runner, model))
            broadcast_object_list(state)
            action, cost, record = state
            if action == 'error':
                raise ValueError(cost)
            if action == 'build':
                cost, record = self._build(runner, model)
            origin = self.official_file or self.cost_file
        terms = model.set_cost_matrix(
            cost.to(next(model.parameters()).device), self.terms)
        self._installed = dict(
            cost_matrix=cost.detach().cpu(), record=record,
            cost_file=self.cost_file, terms=terms)
        print_log(
            f'Cost matrix from {origin} {tuple(cost.shape)} set on '
            f'{terms}.',
            logger='current')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the matrix in the training checkpoint (the exported student
        never holds it)."""
        if self._installed is not None:
            checkpoint.setdefault(CHECKPOINT_KEY,
                                  {})[self.cost_file] = self._installed

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Remember a checkpoint's matrix; ``before_train`` uses it when the
        run resumes (not for a plain ``load_from``)."""
        stored = checkpoint.get(CHECKPOINT_KEY) or {}
        self._checkpointed = stored.get(self.cost_file)
        if self._checkpointed is None and len(stored) == 1:
            # the same run with cost_file spelled differently (relative vs
            # absolute, a moved work_dir)
            (path, self._checkpointed), = stored.items()
            print_log(
                f'The checkpoint keeps the matrix of {path!r}, not of '
                f'{self.cost_file!r}; a resumed run uses it.',
                logger='current',
                level=logging.WARNING)
