# Copyright (c) OpenMMLab. All rights reserved.
"""Build (once) and install the WKD-L cost matrix before training."""
import os.path as osp
from typing import Optional, Sequence

from mmengine.dist import barrier, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmkd.apis.cls_cost_matrix import CLS_FEATURE_SOURCES
from mmkd.apis.cost_matrix import (build_teacher_cost_matrix,
                                   load_cost_matrix, save_cost_matrix)
from mmkd.registry import HOOKS

__all__ = ['CostMatrixHook']


@HOOKS.register_module()
class CostMatrixHook(Hook):
    """Give WKD-L its cost matrix, building it from the teacher if needed.

    In ``before_train``: when ``cost_file`` does not exist, the main process
    runs the distiller's teacher over the training dataloader (or
    ``dataloader``), builds the CKA cost matrix and writes ``cost_file`` plus
    a heatmap PNG beside it (so later runs reuse it); every process then
    loads the file and hands it to ``model.set_cost_matrix``, which checks
    its size against the logits. Configure the WKD-L loss with
    ``cost_matrix=None`` when this hook provides it.

    A detector teacher (one with a ``roi_head``) gives a ``(num_classes + 1)``
    square matrix from its RoI features, background last
    (:func:`~mmkd.apis.build_detection_cost_matrix`); a classifier teacher a
    ``num_classes`` square one from its logits or penultimate features
    (:func:`~mmkd.apis.build_classification_cost_matrix`). The class names
    of the heatmap come from the dataset's ``metainfo['classes']``.

    Args:
        cost_file (str): Where the matrix is cached (``.pth``).
        terms (list[str], optional): Terms to receive it. Defaults to every
            term whose loss has ``set_cost_matrix``.
        kappa (float): Sharpening of ``1 - exp(-kappa (1 - CKA))``.
            Defaults to 1.0.
        num_per_class (int): Samples per class. Defaults to 100.
        bg_per_image (int): Background RoIs per image (detectors only).
            Defaults to 16.
        max_batches (int, optional): Limit on the batches read.
        dataloader (dict, optional): Dataloader config to read instead of the
            training dataloader.
        heatmap (bool): Also write the PNG. Defaults to True.
        seed (int): Seed of the background RoI draw (detectors only).
            Defaults to 0.
        source (str): What a classifier teacher's class features are:
            ``'logits'`` (as the official ImageNet matrices) or
            ``'pre_logits'`` (the head's input, as the paper). Classifiers
            only; detectors use their RoI head's penultimate features.
            Defaults to ``'logits'``.
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
                 source: str = 'logits') -> None:
        if not isinstance(cost_file, str) or not cost_file:
            raise ValueError(
                f'cost_file must be a non-empty path, got {cost_file!r}.')
        if not float(kappa) > 0:
            raise ValueError(f'kappa must be > 0, got {kappa!r}.')
        if source not in CLS_FEATURE_SOURCES:
            raise ValueError(
                f'source must be one of {list(CLS_FEATURE_SOURCES)} (what '
                f"a classifier teacher's class features are), got "
                f'{source!r}.')
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

    def _build(self, runner, model) -> None:
        if self.dataloader is not None:
            dataloader = runner.build_dataloader(self.dataloader)
        else:
            dataloader = runner.train_dataloader
        dataset = getattr(dataloader, 'dataset', None)
        classes = None
        if hasattr(dataset, 'metainfo'):
            classes = dataset.metainfo.get('classes')
        print_log(
            f'Building the WKD-L cost matrix {self.cost_file} from the '
            'teacher (cached for later runs) ...',
            logger='current')
        cost, names = build_teacher_cost_matrix(
            model.teacher,
            dataloader,
            kappa=self.kappa,
            num_per_class=self.num_per_class,
            max_batches=self.max_batches,
            class_names=classes,
            bg_per_image=self.bg_per_image,
            seed=self.seed,
            source=self.source)
        written = save_cost_matrix(cost, self.cost_file, names, self.heatmap)
        print_log(f'Wrote {", ".join(written)}', logger='current')

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not callable(getattr(model, 'set_cost_matrix', None)):
            raise TypeError('CostMatrixHook needs a distiller (a model with '
                            '`set_cost_matrix`), but the model is '
                            f'{type(model).__name__}.')
        if not osp.isfile(self.cost_file) and is_main_process():
            self._build(runner, model)
        barrier()
        cost = load_cost_matrix(self.cost_file)
        terms = model.set_cost_matrix(
            cost.to(next(model.parameters()).device), self.terms)
        print_log(
            f'Cost matrix {self.cost_file} {tuple(cost.shape)} set on '
            f'{terms}.',
            logger='current')
