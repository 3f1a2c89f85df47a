# Copyright (c) OpenMMLab. All rights reserved.
"""Per-class teacher feature rows, collected by every rank in parallel.

The cost-matrix builders (detection and classification) read labelled
batches through the teacher and keep, for each class, up to
``num_per_class`` feature rows. Under distributed training every rank reads
its own shard of the dataloader at the same time; after each batch the
ranks sum their counts (one small ``all_reduce``), so all of them stop
together as soon as the rows of all ranks fill every class, their shards
are exhausted, or ``max_batches`` is reached. The rows are then gathered
(``all_gather``, so it works with NCCL) in rank order: class ``c`` gets rank
0's rows first, then rank 1's, ..., truncated to ``num_per_class``. When
every rank reads its whole shard, that is what one process reading rank 0's
shard and then rank 1's would keep; when the build stops early, each rank
has contributed the rows it had by then, so the rows (not their number)
depend on the number of processes.

A process that fails while reading (a bad label, out of memory) tells the
others at the next count exchange, and they stop with an error instead of
waiting for it in a collective.
"""
import logging
from typing import Iterable, Iterator, List, Optional, Sequence

import torch
from mmengine.dist import (all_gather, all_reduce, broadcast,
                           broadcast_object_list, get_rank, get_world_size,
                           is_main_process)
from mmengine.logging import print_log
from torch import Tensor

__all__ = ['ClassRows', 'class_names_of', 'cka_cost_on_main_process']


def class_names_of(class_names: Optional[Sequence[str]],
                   num_classes: int) -> List[str]:
    """``num_classes`` names for messages: the given ones, indices for the
    rest."""
    names = list(class_names or [])[:num_classes]
    return names + [str(i) for i in range(len(names), num_classes)]


def cka_cost_on_main_process(features: Tensor, kappa: float) -> Tensor:
    """The CKA cost matrix of ``features`` (n, b, d), computed once.

    The main process computes it (in float64) and broadcasts it, so every
    rank holds the same float32 ``(n, n)`` tensor and no rank reads a file
    another rank wrote. An error on the main process is raised on every
    rank.
    """
    from mmkd.losses import cka_cost_matrix
    if get_world_size() == 1:
        return cka_cost_matrix(features.double(), kappa=kappa).float()
    n = features.shape[0]
    cost, error = torch.empty(n, n), [None]
    if is_main_process():
        try:
            cost = cka_cost_matrix(features.double(), kappa=kappa).float()
        except Exception as e:  # noqa: BLE001 - raised on every rank below
            error = [f'{type(e).__name__}: {e}']
    broadcast_object_list(error)
    if error[0] is not None:
        raise RuntimeError('Computing the cost matrix failed on the main '
                           f'process: {error[0]}')
    broadcast(cost, src=0)
    return cost


class ClassRows:
    """Per-class feature rows of a teacher, at most ``num_per_class`` each.

    Shared by the detection and classification collectors: rows are added
    batch by batch (:meth:`add`), :meth:`batches` reads the dataloader
    (progress bar on the main process, ``max_batches``, at most one pass,
    early stop once the rows of all ranks fill every class) and
    :meth:`stack` gathers the rows of all ranks and gives every class the
    same number of rows.

    Every rank must call :meth:`batches` (to the end) and :meth:`stack`:
    both hold collectives when the default process group is initialised.

    Args:
        names (list[str]): One name per class, for messages.
        num_per_class (int): Rows to keep per class.
    """

    def __init__(self, names: Sequence[str], num_per_class: int) -> None:
        self.names = list(names)
        self.num_per_class = num_per_class
        self.store: List[List[Tensor]] = [[] for _ in self.names]
        #: Rows this rank holds per class.
        self.counts = [0] * len(self.names)
        #: Rows of all ranks together per class (each rank counted up to
        #: ``num_per_class``), updated after every batch.
        self.total_counts = [0] * len(self.names)
        #: Batches this rank read.
        self.batches_read = 0

    @property
    def full(self) -> bool:
        """Whether the rows of all ranks fill every class."""
        return min(self.total_counts) >= self.num_per_class

    def add(self, feats: Tensor, labels: Tensor) -> None:
        """Keep the rows of ``feats`` (R, d) whose class (``labels``, R)
        still needs rows on this rank."""
        for c in labels.unique().tolist():
            need = self.num_per_class - self.counts[c]
            if need > 0:
                rows = feats[labels == c][:need]
                self.store[c].append(rows)
                self.counts[c] += rows.size(0)

    def _sync(self, reading: bool, failed: bool = False) -> bool:
        """Sum the counts of all ranks; whether any rank still reads.

        Raises:
            RuntimeError: If another rank reported a failure.
        """
        state = torch.tensor(
            [min(c, self.num_per_class) for c in self.counts] +
            [int(reading), int(failed)],
            dtype=torch.long)
        if get_world_size() > 1:
            all_reduce(state, op='sum')
        self.total_counts = state[:-2].tolist()
        if state[-1] > 0 and not failed:
            raise RuntimeError(
                'Another process failed while building the cost matrix (see '
                'its log); this one stops too instead of waiting for it.')
        return bool(state[-2] > 0)

    def batches(self, dataloader: Iterable, max_batches: Optional[int],
                progress: bool) -> Iterator:
        """The batches of this rank's ``dataloader``, at most one pass and
        ``max_batches``, until the rows of all ranks fill every class.

        A rank whose shard is exhausted keeps taking part in the per-batch
        count exchange until every rank is done, so no rank waits in a
        collective while another still reads.
        """
        from mmengine.utils import ProgressBar
        total = len(dataloader) if hasattr(dataloader, '__len__') else None
        # One pass: an infinite sampler (iteration-based training) would
        # otherwise never end when a class cannot be filled.
        limit = total
        if max_batches is not None:
            limit = max_batches if limit is None else min(limit, max_batches)
        show = progress and is_main_process() and bool(limit)
        bar = ProgressBar(limit) if show else None
        iterator = iter(dataloader)
        reading = limit is None or limit > 0
        try:
            while True:
                if reading:
                    try:
                        data = next(iterator)
                    except StopIteration:
                        reading = False
                    else:
                        try:
                            yield data
                        except GeneratorExit:
                            # The caller failed on this batch: tell the
                            # other ranks, which wait in the next exchange.
                            if get_world_size() > 1:
                                self._sync(False, failed=True)
                            raise
                        self.batches_read += 1
                        if bar is not None:
                            bar.update()
                        reading = limit is None or self.batches_read < limit
                if not self._sync(reading) or self.full:
                    break
        finally:
            if bar is not None:
                bar.file.write('\n')

    def _gathered(self) -> List[Tensor]:
        """Each class's rows: rank 0's first, then rank 1's, ..., at most
        ``num_per_class``."""
        local = [
            torch.cat(rows)[:self.num_per_class] if rows else None
            for rows in self.store
        ]
        world = get_world_size()
        if world == 1:
            return [
                rows if rows is not None else torch.zeros(0, 0)
                for rows in local
            ]
        width = max((r.size(1) for r in local if r is not None), default=0)
        width_t = torch.tensor([width], dtype=torch.long)
        all_reduce(width_t, op='max')
        width = int(width_t)
        counts = torch.tensor(self.counts, dtype=torch.long).clamp(
            max=self.num_per_class)
        counts_all = torch.stack(all_gather(counts)).cpu()  # (world, C)
        # What each rank contributes: its rows until the class is full.
        before = counts_all.cumsum(0) - counts_all
        take = (self.num_per_class - before).clamp(min=0)
        take = torch.minimum(take, counts_all)
        rank = get_rank()
        flat = [
            local[c][:int(take[rank, c])] for c in range(len(local))
            if take[rank, c] > 0
        ]
        sizes = take.sum(1)
        buf = torch.zeros(int(sizes.max()), width)
        if flat:
            mine = torch.cat(flat).float()
            buf[:mine.size(0)] = mine
        parts = [p.cpu() for p in all_gather(buf)]
        out: List[List[Tensor]] = [[] for _ in local]
        for r, part in enumerate(parts):
            start = 0
            for c in range(len(local)):
                n = int(take[r, c])
                if n:
                    out[c].append(part[start:start + n])
                    start += n
        return [
            torch.cat(rows) if rows else torch.zeros(0, width)
            for rows in out
        ]

    def stack(self, hint: str) -> Tensor:
        """``(num_classes, b, d)``, ``b`` the smallest per-class count of
        the gathered rows; the same on every rank.

        A class with fewer than ``num_per_class`` rows is named, with its
        count, in a WARNING (the matrix then uses ``b`` rows per class).

        Args:
            hint (str): How to get more samples, appended to the error.

        Raises:
            ValueError: If a class has fewer than 2 rows (the classes are
                named with their counts); raised on every rank.
        """
        rows = self._gathered()
        counts = [r.size(0) for r in rows]
        few = [
            f'{name} ({count})' for name, count in zip(self.names, counts)
            if count < 2
        ]
        if few:
            raise ValueError(
                'Too few samples to build the cost matrix for classes: ' +
                ', '.join(few) + '. ' + hint)
        short = [
            f'{name} ({count})' for name, count in zip(self.names, counts)
            if count < self.num_per_class
        ]
        b = min(counts)
        if short:
            print_log(
                f'Cost matrix: {len(short)} classes have fewer than '
                f'num_per_class={self.num_per_class} samples: ' +
                ', '.join(short) + f'; every class uses {b} (rows are '
                'paired by index across classes).',
                logger='current',
                level=logging.WARNING)
        return torch.stack([r[:b] for r in rows])
