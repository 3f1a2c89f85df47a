# Copyright (c) OpenMMLab. All rights reserved.
"""Which runs a study needs and which have finished: run ids and options,
result files, the sweep protocol on val and the seeds stage."""
import json
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence

from .tasks import GRID, MAX_EXTEND, ROOT, SEEDS, Task, Variant


class Run:
    """One training + evaluation of the study.

    Args:
        variant (Variant): What to train.
        seed (int): ``randomness.seed``.
        value (float, optional): The knob's value; None for variants
            without a knob. Defaults to None.
    """

    def __init__(self,
                 variant: Variant,
                 seed: int,
                 value: Optional[float] = None) -> None:
        self.variant = variant
        self.seed = seed
        self.value = value

    @property
    def id(self) -> str:
        knob = ''
        if self.value is not None:
            knob = f'_{self.variant.knob.rsplit(".", 1)[-1]}={self.value:g}'
        return f'{self.variant.name}{knob}_s{self.seed}'

    def options(self, teacher_ckpt: str, cost_file: str) -> List[str]:
        """The ``--cfg-options`` of the run; paths relative to the
        repository root (where runs start), so result files hold no path of
        the machine that made them."""
        opts = [f'randomness.seed={self.seed}']
        if self.value is not None:
            opts.append(f'{self.variant.knob}={self.value!r}')
        if self.variant.distills:
            opts.append(f'model.teacher_ckpt={repo_path(teacher_ckpt)}')
            opts += cost_options(self.variant.config, repo_path(cost_file))
        return opts + list(self.variant.options)


def repo_path(path: str) -> str:
    """``path`` relative to the repository root when it lies inside it."""
    if osp.isabs(path) and not osp.relpath(path, ROOT).startswith('..'):
        return osp.relpath(path, ROOT)
    return path


def load_config(path: str):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, path))


def cost_options(config: str, cost_file: str) -> List[str]:
    """``--cfg-options`` that give a config the study's cost matrix.

    Through its ``mmkd.CostMatrixHook`` (which then loads, not builds) if it
    has one, else through each loss's ``cost_matrix`` argument.
    """
    cfg = load_config(config)
    for i, hook in enumerate(cfg.get('custom_hooks', [])):
        if hook['type'] in ('mmkd.CostMatrixHook', 'CostMatrixHook'):
            return [f'custom_hooks.{i}.cost_file={cost_file}']
    losses = cfg.model.get('distill_losses') or {}
    return [
        f'model.distill_losses.{name}.cost_matrix={cost_file}'
        for name, loss in losses.items() if 'cost_matrix' in loss
    ]


def config_value(config: str, key: str) -> float:
    """The value at dotted ``key`` of a config."""
    node = load_config(config)
    for part in key.split('.'):
        node = node[part]
    return float(node)


# ----------------------------------------------------------------- results
def read_result(results: str, run_id: str) -> Optional[dict]:
    path = osp.join(results, f'{run_id}.json')
    if not osp.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def write_json(path: str, data: dict) -> None:
    """Write ``data`` atomically (a killed study leaves no half file)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    os.replace(tmp, path)


def sweep_values(variant: Variant, lookup: Callable[[str], Optional[dict]],
                 metric: str) -> List[float]:
    """The values a variant's sweep needs, given what has finished.

    The grid, extended by one more step of its ratio (4x) beyond an end
    while the best finished value on val sits at that end, at most
    :data:`MAX_EXTEND` times: a best value at the edge of the grid says the
    optimum may lie outside it.

    Args:
        variant (Variant): A variant with a knob.
        lookup (Callable): Run id -> its result, or None if not finished.
        metric (str): The task's metric (higher is better).

    Returns:
        list[float]: Increasing values; the last extension may be
        unfinished.
    """
    values = list(variant.sweep)
    ratio = GRID[1] / GRID[0]
    for _ in range(MAX_EXTEND):
        results = [lookup(Run(variant, 0, v).id) for v in values]
        if any(r is None for r in results):
            break
        scores = [r['metrics']['val'][metric] for r in results]
        best = scores.index(max(scores))
        if best == len(values) - 1:
            values.append(round(values[-1] * ratio, 10))
        elif best == 0:
            values.insert(0, round(values[0] / ratio, 10))
        else:
            break
    return values


def sweep_choice(variant: Variant,
                 lookup: Callable[[str], Optional[dict]],
                 metric: str) -> Optional[float]:
    """The sweep value with the best val ``metric``; None while any value
    of :func:`sweep_values` is unfinished.

    Args:
        variant (Variant): A variant with a knob.
        lookup (Callable): Run id -> its result, or None if not finished.
        metric (str): The task's metric (higher is better).
    """
    best = None
    for value in sweep_values(variant, lookup, metric):
        res = lookup(Run(variant, 0, value).id)
        if res is None:
            return None
        score = res['metrics']['val'][metric]
        if best is None or score > best[0]:
            best = (score, value)
    return best[1]


def check_sweep(task: Task, variants: Sequence[Variant],
                results: str) -> List[str]:
    """Where a config's weight is not the one its sweep chose on val.

    Returns:
        list[str]: One line per disagreement or unfinished sweep.
    """
    problems = []
    for variant in variants:
        for name in ((variant.name, ) if variant.knob else variant.uses):
            swept = task.variants[name]
            chosen = sweep_choice(swept, lambda i: read_result(results, i),
                                  task.metric)
            if chosen is None:
                problems.append(f'{name}: its sweep has not finished '
                                f'(run --stage sweep)')
                continue
            have = config_value(variant.config, swept.knob)
            if abs(have - chosen) > 1e-12 * max(1.0, abs(chosen)):
                problems.append(
                    f'{variant.config}: {swept.knob}={have:g}, but the '
                    f'sweep chose {chosen:g} on val; put {chosen:g} in the '
                    f'config')
    return problems


def sweep_runs(variants: Sequence[Variant], task: Task,
               results: str) -> List[Run]:
    """Seed-0 runs of every value the sweeps need now (grids and their
    extensions so far)."""
    def lookup(run_id: str) -> Optional[dict]:
        return read_result(results, run_id)

    return [
        Run(v, 0, value) for v in variants if v.knob
        for value in sweep_values(v, lookup, task.metric)
    ]


def seed_runs(variants: Sequence[Variant],
              seeds: Sequence[int] = SEEDS) -> List[Run]:
    """The study runs; a knob's value is read from the config."""
    runs = []
    for seed in seeds:
        for v in variants:
            value = config_value(v.config, v.knob) if v.knob else None
            runs.append(Run(v, seed, value))
    return runs
