# Copyright (c) OpenMMLab. All rights reserved.
"""Schedules of the distillation weight: warm-up, cosine decay, stop."""
import logging
import math
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmkd.registry import HOOKS
from mmkd.utils.checks import check_choice, check_int
from .utils import runner_distiller

__all__ = [
    'distill_weight_factor', 'DistillWeightScheduleHook',
    'StopDistillationHook'
]


def distill_weight_factor(t: int,
                          end: int,
                          begin: int = 0,
                          schedule: str = 'cosine',
                          warmup: int = 0,
                          warmup_ratio: float = 0.0,
                          min_ratio: float = 0.0) -> float:
    """Factor applied to a distillation weight at epoch/iteration ``t``.

    Cosine part (docs/methods.md section 4): 1 for ``t <= begin``, then
    ``min_ratio + (1 - min_ratio) * 0.5 * (1 + cos(pi * (t - begin) /
    (end - begin)))``, reaching ``min_ratio`` at ``t = end`` (and after).
    Warm-up part: ``warmup_ratio + (1 - warmup_ratio) * t / warmup`` for
    ``t < warmup``, 1 after. The factor is the product of both.

    ``t`` is the epoch number as the schedule counts it. The official WKD
    code (and mdistiller, whose trainer it uses) numbers epochs from 1 to
    ``end``: its first epoch is already decayed to
    ``0.5 * (1 + cos(pi / end))`` and its last reaches ``min_ratio``.
    :class:`DistillWeightScheduleHook` passes ``runner.epoch + 1`` by
    default (see its ``count_from``).

    Args:
        t (int): Epoch (or iteration) number in the schedule's count, 1 for
            the first epoch of a 1-based count.
        end (int): Where the cosine reaches ``min_ratio`` (usually the
            number of epochs or iterations).
        begin (int): Last ``t`` at full weight. Defaults to 0.
        schedule (str): ``'cosine'`` or ``'constant'``. Defaults to
            ``'cosine'``.
        warmup (int): Warm-up length. Defaults to 0.
        warmup_ratio (float): Factor at ``t = 0`` of the warm-up.
        min_ratio (float): Factor at the end of the cosine. Defaults to 0.
    """
    factor = 1.0
    if schedule == 'cosine' and t > begin:
        progress = min(1.0, (t - begin) / max(end - begin, 1))
        factor = min_ratio + (1.0 - min_ratio) * 0.5 * (
            1.0 + math.cos(math.pi * progress))
    elif schedule not in ('cosine', 'constant'):
        raise ValueError(f"schedule must be 'cosine' or 'constant', but got "
                         f'{schedule!r}.')
    if t < warmup:
        factor *= warmup_ratio + (1.0 - warmup_ratio) * t / warmup
    return factor


@HOOKS.register_module()
class DistillWeightScheduleHook(Hook):
    """Scale the distillation weights by a warm-up and/or cosine schedule.

    Before every training iteration the factor of
    :func:`distill_weight_factor` for the current epoch (``by_epoch``) or
    iteration is handed to ``model.set_distill_weight_scale``; the value is
    derived from ``runner.epoch``/``runner.iter`` only, so resuming restores
    it. For WKD-L only lambda (``wd_weight``) is scaled (the target term keeps
    its weight), as in the official code. The factor is logged as
    ``train/distill_weight_scale``.

    Epochs are numbered as the official WKD code numbers them, from 1
    (``count_from=1``): the epoch MMEngine calls ``runner.epoch == e`` is
    epoch ``e + 1`` of the schedule. With ``begin=0`` and 100 epochs the
    first epoch already trains at ``0.5 * (1 + cos(pi / 100))`` of the
    weight and the last at ``min_ratio``; with ``begin=150`` of 240 epochs
    exactly 150 epochs keep the full weight (the official CIFAR schedule).
    ``count_from=0`` restores the 0-based count of mmkd 0.1.0 (first epoch
    at full weight, the last one step short of ``min_ratio``, ``begin + 1``
    constant epochs); it exists only to reproduce runs made with it.
    The warm-up uses the same count: its first epoch trains at
    ``warmup_ratio + (1 - warmup_ratio) / warmup`` of the weight, as
    mdistiller's ``min(epoch / warmup, 1)`` with 1-based epochs. Iterations
    (``by_epoch=False``) are counted the same way.

    Args:
        begin (int): Last epoch/iteration at full weight, in the count of
            ``count_from`` (``t <= begin`` keeps the full weight). Defaults
            to 0 (decay from the first epoch, as the WKD ImageNet runs).
        end (int, optional): Where the weight reaches ``min_ratio``.
            Defaults to the run's ``max_epochs`` (``max_iters``).
        by_epoch (bool): Count epochs (one value per epoch) or iterations.
            Defaults to True.
        schedule (str): ``'cosine'`` or ``'constant'`` (warm-up only).
        warmup (int): Linear warm-up length in the same unit. Defaults to 0.
        warmup_ratio (float): Factor at the start of the warm-up.
        min_ratio (float): Factor at ``end``. Defaults to 0.
        terms (list[str], optional): Terms to schedule. Defaults to all terms
            whose ``scheduled`` flag is set (see the distiller).
        count_from (int): Number of the first epoch (iteration) in the
            schedule: 1 as the official WKD code, or 0 (the previous mmkd
            count, kept only to reproduce earlier runs). Defaults to 1.
    """
    priority = 'NORMAL'

    def __init__(self,
                 begin: int = 0,
                 end: Optional[int] = None,
                 by_epoch: bool = True,
                 schedule: str = 'cosine',
                 warmup: int = 0,
                 warmup_ratio: float = 0.0,
                 min_ratio: float = 0.0,
                 terms: Optional[Sequence[str]] = None,
                 count_from: int = 1) -> None:
        if isinstance(count_from, bool) or count_from not in (0, 1):
            raise ValueError(
                'count_from must be 1 (epochs numbered from 1, as the '
                'official WKD code) or 0 (the previous 0-based count), but '
                f'got {count_from!r}.')
        self.count_from = count_from
        self.begin = check_int('begin', begin, minimum=0)
        self.end = check_int('end', end, allow_none=True)
        if self.end is not None and self.end <= self.begin:
            raise ValueError(
                f'end ({end}) must be greater than begin ({begin}).')
        check_choice('schedule', schedule, ('cosine', 'constant'))
        self.warmup = check_int('warmup', warmup, minimum=0)
        for name, value in (('warmup_ratio', warmup_ratio), ('min_ratio',
                                                             min_ratio)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(
                    f'{name} must be in [0, 1], but got {value!r}.')
        self.by_epoch = bool(by_epoch)
        self.schedule = schedule
        self.warmup_ratio = float(warmup_ratio)
        self.min_ratio = float(min_ratio)
        self.terms = list(terms) if terms is not None else None

    def before_train(self, runner) -> None:
        runner_distiller(runner, 'set_distill_weight_scale',
                         type(self).__name__)
        loop = getattr(runner, 'train_loop', None)
        if self.by_epoch and type(loop).__name__ == 'IterBasedTrainLoop':
            raise ValueError(
                f'{type(self).__name__}(by_epoch=True) in an iteration-based '
                'run: the epoch never advances, so the weight would never '
                'change. Use by_epoch=False (begin/end/warmup in iterations).')
        end = self._end(runner)
        if end <= self.begin:
            raise ValueError(
                f'{type(self).__name__}: the run ends at {end} '
                f"{'epochs' if self.by_epoch else 'iterations'}, not after "
                f'begin={self.begin}.')
        self._apply(runner)

    def _end(self, runner) -> int:
        if self.end is not None:
            return self.end
        return runner.max_epochs if self.by_epoch else runner.max_iters

    def factor(self, runner) -> float:
        """The factor for the runner's current epoch or iteration."""
        t = runner.epoch if self.by_epoch else runner.iter
        t += self.count_from
        return distill_weight_factor(
            t,
            self._end(runner),
            begin=self.begin,
            schedule=self.schedule,
            warmup=self.warmup,
            warmup_ratio=self.warmup_ratio,
            min_ratio=self.min_ratio)

    def _apply(self, runner) -> None:
        model = runner_distiller(runner, 'set_distill_weight_scale',
                                 type(self).__name__)
        value = self.factor(runner)
        terms = self.terms
        if terms is None:
            inputs = getattr(model, 'distill_inputs', {})
            terms = [
                n for n in model.distill_losses
                if inputs.get(n, {}).get('scheduled', True)
            ]
        if terms:
            model.set_distill_weight_scale(value, terms)
        runner.message_hub.update_scalar('train/distill_weight_scale', value)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._apply(runner)


@HOOKS.register_module()
class StopDistillationHook(Hook):
    """Stop distillation at an epoch or iteration (student-only after).

    From ``stop_epoch`` (0-based epoch index) or ``stop_iter`` on, the
    distiller no longer runs the teacher and its distillation terms are
    zero. Derived from ``runner.epoch``/``runner.iter`` on every iteration,
    so a resumed run is in the right state.

    Args:
        stop_epoch (int, optional): First epoch without distillation.
        stop_iter (int, optional): First iteration without distillation.
            Exactly one of the two must be given.
    """
    priority = 'NORMAL'

    def __init__(self,
                 stop_epoch: Optional[int] = None,
                 stop_iter: Optional[int] = None) -> None:
        if (stop_epoch is None) == (stop_iter is None):
            raise ValueError('Give exactly one of stop_epoch and stop_iter, '
                             f'got stop_epoch={stop_epoch!r}, '
                             f'stop_iter={stop_iter!r}.')
        self.stop_epoch = check_int(
            'stop_epoch', stop_epoch, minimum=0, allow_none=True)
        self.stop_iter = check_int(
            'stop_iter', stop_iter, minimum=0, allow_none=True)
        self._logged = False

    def stopped(self, runner) -> bool:
        if self.stop_epoch is not None:
            return runner.epoch >= self.stop_epoch
        return runner.iter >= self.stop_iter

    def before_train(self, runner) -> None:
        runner_distiller(runner, 'set_distillation_enabled',
                         type(self).__name__)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        stopped = self.stopped(runner)
        runner_distiller(runner, 'set_distillation_enabled',
                         type(self).__name__).set_distillation_enabled(
                             not stopped)
        if stopped and not self._logged:
            where = (f'epoch {runner.epoch}' if self.stop_epoch is not None
                     else f'iteration {runner.iter}')
            print_log(f'Distillation stopped at {where}.', logger='current',
                      level=logging.INFO)
            self._logged = True
