# Copyright (c) OpenMMLab. All rights reserved.
"""CostMatrixHook under two CPU processes (gloo), each with its own shard
and its own folder (no shared file system): both ranks read their shards in
parallel, the rows of both fill a class neither fills alone, the matrix
equals the one-process build on the same rows and reaches rank 1 as a
tensor; only rank 0 writes the file."""
import os.path as osp
import sys
from types import SimpleNamespace

import torch

from mmkd.utils import finish_distributed

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(HERE, '..', 'models'))
from gloo_helpers import init_gloo, spawn_two  # noqa: E402

CLASSES = ('cat', 'dog', 'eel')
NUM_PER_CLASS = 4


def shard(rank, labels_per_batch=((0, 1, 0, 1, 0, 1), (0, 1, 2, 0, 1, 2))):
    """Two batches per rank by default; 'eel' (class 2) only twice, in the
    last batch, so neither rank alone reaches NUM_PER_CLASS rows of it."""
    from mmpretrain.structures import DataSample
    from cls_helpers import ClsLoader
    gen = torch.Generator().manual_seed(10 + rank)
    batches = []
    for labels in labels_per_batch:
        batches.append(
            dict(
                inputs=[
                    torch.randint(0, 256, (3, 8, 8), generator=gen).byte()
                    for _ in labels
                ],
                data_samples=[DataSample().set_gt_label(c) for c in labels]))
    return ClsLoader(batches, CLASSES)


def distiller():
    from cls_helpers import cls_distiller
    return cls_distiller(seed=0)


def worker(rank, port, out_dir):
    init_gloo(rank, port)
    from mmkd.engine.hooks import CostMatrixHook
    results = {}
    for phase in ('build', 'reuse'):
        model = distiller()
        forwards = []
        handle = model.teacher.register_forward_hook(
            lambda *args: forwards.append(1))
        runner = SimpleNamespace(
            model=model, iter=0, epoch=0, train_dataloader=shard(rank))
        # each rank its own folder: a node without a shared file system
        cost_file = osp.join(out_dir, f'node{rank}', 'cost.pth')
        CostMatrixHook(
            cost_file, num_per_class=NUM_PER_CLASS,
            heatmap=False).before_train(runner)
        handle.remove()
        results[phase] = dict(
            cost=model.distill_losses['loss_wkd_l'].cost_matrix.clone(),
            forwards=len(forwards),
            wrote=osp.isfile(cost_file))
    torch.save(results, osp.join(out_dir, f'rank{rank}.pth'))
    finish_distributed()


def test_two_ranks_build_one_matrix_together(tmp_path):
    spawn_two(worker, str(tmp_path))
    r0, r1 = (
        torch.load(tmp_path / f'rank{r}.pth', weights_only=True)
        for r in range(2))
    # both ranks ran the teacher, over both of their batches: in parallel,
    # neither waited for the other to read its shard
    assert r0['build']['forwards'] == r1['build']['forwards'] == 2
    # the same matrix on both ranks, written by rank 0 only
    torch.testing.assert_close(r0['build']['cost'], r1['build']['cost'])
    assert r0['build']['wrote'] and not r1['build']['wrote']

    # one process reading rank 0's shard, then rank 1's: the same rows
    from mmkd.apis import build_classification_cost_matrix
    model = distiller()
    expected = build_classification_cost_matrix(
        model.teacher,
        list(shard(0)) + list(shard(1)),
        num_per_class=NUM_PER_CLASS,
        progress=False,
        preprocess=model.teacher_data)
    torch.testing.assert_close(r0['build']['cost'], expected)
    # and 'eel' got rows from both ranks: rank 0's shard alone gives 2
    alone = build_classification_cost_matrix(
        model.teacher, list(shard(0)), num_per_class=NUM_PER_CLASS,
        progress=False, preprocess=model.teacher_data)
    assert not torch.allclose(alone, expected)

    # second run: rank 0 finds its file, rank 1 has none and builds nothing
    assert r0['reuse']['forwards'] == r1['reuse']['forwards'] == 0
    for r in (r0, r1):
        torch.testing.assert_close(r['reuse']['cost'], expected)
    assert not r1['reuse']['wrote']


#: Per scenario and rank: the labels of each batch of that rank's shard.
SHARDS = {
    # rank 1 runs out after one batch while rank 0 reads on; no class fills
    'uneven': ([(0, 1, 2)] * 3, [(0, 1, 2)]),
    # label 7 of 3 classes: rank 1 fails on its second batch
    'fail': ([(0, 1, 2)] * 3, [(0, 1, 2), (0, 7, 2)]),
}


def scenario_worker(rank, port, out_dir, scenario):
    init_gloo(rank, port)
    from mmkd.engine.hooks import CostMatrixHook
    model = distiller()
    forwards = []
    model.teacher.register_forward_hook(lambda *args: forwards.append(1))
    runner = SimpleNamespace(
        model=model, iter=0, epoch=0,
        train_dataloader=shard(rank, SHARDS[scenario][rank]))
    result = dict(forwards=0, error='')
    try:
        CostMatrixHook(
            osp.join(out_dir, 'cost.pth'), num_per_class=NUM_PER_CLASS,
            heatmap=False).before_train(runner)
        result['cost'] = model.distill_losses['loss_wkd_l'].cost_matrix
    except Exception as e:  # noqa: BLE001 - the test reads it
        result['error'] = f'{type(e).__name__}: {e}'
    result['forwards'] = len(forwards)
    torch.save(result, osp.join(out_dir, f'{scenario}{rank}.pth'))
    finish_distributed()


def _run_scenario(tmp_path, scenario):
    spawn_two(scenario_worker, str(tmp_path), scenario)
    return [
        torch.load(tmp_path / f'{scenario}{r}.pth', weights_only=True)
        for r in range(2)
    ]


def test_uneven_shards_finish_together(tmp_path):
    r0, r1 = _run_scenario(tmp_path, 'uneven')
    assert r0['error'] == r1['error'] == ''
    # one pass each: rank 0 read its 3 batches while rank 1, done after 1,
    # kept taking part in the count exchange
    assert (r0['forwards'], r1['forwards']) == (3, 1)
    torch.testing.assert_close(r0['cost'], r1['cost'])
    from mmkd.apis import build_classification_cost_matrix
    model = distiller()
    expected = build_classification_cost_matrix(
        model.teacher,
        list(shard(0, SHARDS['uneven'][0])) +
        list(shard(1, SHARDS['uneven'][1])),
        num_per_class=NUM_PER_CLASS, progress=False,
        preprocess=model.teacher_data)
    torch.testing.assert_close(r0['cost'], expected)


def test_a_failing_rank_stops_the_other(tmp_path):
    r0, r1 = _run_scenario(tmp_path, 'fail')
    assert 'Label 7 is outside the 3 classes' in r1['error']
    assert 'Another process failed while building the cost matrix' in \
        r0['error']
    assert not (tmp_path / 'cost.pth').exists()
