# Copyright (c) OpenMMLab. All rights reserved.
"""Cost-matrix files: write, read, plot.

mmkd writes ``{'cost_matrix': tensor, 'record': dict}`` (the record says
what the matrix was built from, :mod:`~mmkd.apis.cost_record`) and a heatmap
PNG beside it, each atomically; it reads those, plain tensors, ``.npy``
files and the official WKD ``*_linear_cka.pth`` files
(:func:`load_official_cost_matrix`, which applies the sharpening).
"""
import os
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from mmkd.losses.wkd_logit_loss import (as_cost_matrix, check_cost_width,
                                        read_cost_file)

__all__ = [
    'off_diagonal_range', 'plot_cost_matrix', 'save_cost_matrix',
    'load_cost_matrix_and_record', 'load_cost_file',
    'load_official_cost_matrix'
]


def off_diagonal_range(cost: Tensor) -> Tuple[float, float]:
    """The smallest and largest off-diagonal entries of a square matrix.

    A CKA cost matrix has a zero diagonal and off-diagonal entries in a
    narrow band (about 0.45-0.6 on the toy digits); a colour scale over
    ``[0, max]`` paints that band one colour, so the heatmap uses this one.
    """
    n = cost.shape[0]
    if n < 2:
        value = float(cost.max()) if cost.numel() else 0.0
        return value, value
    off = cost[~torch.eye(n, dtype=torch.bool, device=cost.device)]
    return float(off.min()), float(off.max())


def plot_cost_matrix(cost: Tensor,
                     out_file: str,
                     class_names: Optional[Sequence[str]] = None,
                     title: Optional[str] = None,
                     ax=None) -> str:
    """Save a heatmap PNG of a cost matrix (matplotlib, Agg backend).

    The colour scale spans the off-diagonal entries
    (:func:`off_diagonal_range`) and the diagonal is drawn blank, so the
    category interrelations show; up to 15 classes print their values.

    Args:
        cost (Tensor): The ``(n, n)`` matrix.
        out_file (str): The PNG to write (ignored when ``ax`` is given).
        class_names (Sequence[str], optional): Row/column labels.
        title (str, optional): Defaults to ``'WKD-L cost matrix (n x n)'``.
        ax (matplotlib.axes.Axes, optional): Draw into this axes instead of
            a new figure (nothing is saved). Defaults to None.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    if ax is None:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    values = cost.detach().cpu().double()
    n = values.shape[0]
    low, high = off_diagonal_range(values)
    shown = np.ma.masked_array(values.numpy(), mask=np.eye(n, dtype=bool))
    fig = None
    if ax is None:
        size = max(4.0, min(16.0, 0.45 * n + 2))
        fig, ax = plt.subplots(figsize=(size + 1, size))
    cmap = matplotlib.colormaps['viridis'].copy()
    cmap.set_bad('white')
    image = ax.imshow(shown, cmap=cmap, vmin=low, vmax=max(high, low + 1e-9))
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                       label='cost (off-diagonal range; diagonal 0)')
    if n <= 15:
        mid = (low + high) / 2
        for i in range(n):
            for j in range(n):
                if i != j:
                    ax.text(j, i, f'{values[i, j]:.2f}', ha='center',
                            va='center', fontsize=6,
                            color='black' if values[i, j] > mid else 'white')
    if class_names is not None and n <= 40:
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xticklabels(class_names, rotation=90, fontsize=7)
        ax.set_yticklabels(class_names, fontsize=7)
    ax.set_title(title or f'WKD-L cost matrix ({n} x {n})')
    if fig is not None:
        fig.tight_layout()
        fig.savefig(out_file, dpi=100)
        plt.close(fig)
    return out_file


def _replace_atomically(out_file: str, write: Callable[[str], Any]) -> None:
    """``write(tmp)`` beside ``out_file``, then rename it over ``out_file``:
    a reader (another job, a killed run) sees the old file or the whole new
    one, never half of it."""
    directory, name = osp.split(osp.abspath(out_file))
    stem, ext = osp.splitext(name)
    # same folder (rename is atomic within a file system), same extension
    # (matplotlib picks the format from it)
    tmp = osp.join(directory, f'.{stem}.{os.getpid()}.tmp{ext}')
    try:
        write(tmp)
        os.replace(tmp, out_file)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def save_cost_matrix(cost: Tensor,
                     out_file: str,
                     class_names: Optional[Sequence[str]] = None,
                     heatmap: bool = True,
                     record: Optional[Dict[str, Any]] = None) -> List[str]:
    """Write the matrix (``torch.save``) and, with ``heatmap``, a PNG beside
    it (same name, ``.png``), each atomically (temporary file + rename).

    Args:
        cost (Tensor): The square matrix.
        out_file (str): A ``.pth`` / ``.pt`` path.
        class_names (Sequence[str], optional): Row names for the heatmap.
        heatmap (bool): Also write the PNG. Defaults to True.
        record (dict, optional): What the matrix was built from
            (:func:`~mmkd.apis.cost_record.cost_matrix_record`). With it the
            file holds ``{'cost_matrix': tensor, 'record': record}``,
            otherwise the plain float32 tensor.

    Returns:
        list[str]: The files written.
    """
    if cost.dim() != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(
            f'A cost matrix is square, got shape {tuple(cost.shape)}.')
    if osp.splitext(out_file)[1].lower() not in ('.pth', '.pt'):
        raise ValueError(
            f'The cost matrix file {out_file!r} is written with torch.save; '
            "give it a '.pth' (or '.pt') name so that it can be loaded.")
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    matrix = cost.detach().cpu().float().contiguous()
    payload = matrix if record is None else dict(
        cost_matrix=matrix, record=dict(record))
    _replace_atomically(out_file, lambda tmp: torch.save(payload, tmp))
    written = [out_file]
    if heatmap:
        png = osp.splitext(out_file)[0] + '.png'
        _replace_atomically(
            png, lambda tmp: plot_cost_matrix(cost, tmp, class_names))
        written.append(png)
    return written


def load_cost_matrix_and_record(
        path: str) -> Tuple[Tensor, Optional[Dict[str, Any]]]:
    """A cost file's matrix (validated, float32, CPU) and its record (None
    for files without one, such as the official ``.pth`` files)."""
    if osp.splitext(path)[1].lower() in ('.pth', '.pt') and osp.isfile(path):
        loaded = read_cost_file(path)
        if isinstance(loaded, dict) and 'cost_matrix' in loaded:
            return as_cost_matrix(loaded['cost_matrix']).float(), \
                loaded.get('record')
        return as_cost_matrix(loaded).float(), None
    return as_cost_matrix(path).float(), None


def load_cost_file(path: str) -> Tensor:
    """Load a cost matrix written by :func:`save_cost_matrix` (``.pth``) or a
    numpy ``.npy`` file, validated by :func:`mmkd.losses.as_cost_matrix`
    (square, finite, non-negative), as float32 on the CPU."""
    return load_cost_matrix_and_record(path)[0]


def load_official_cost_matrix(path: Union[str, os.PathLike],
                              kappa: float = 1.0,
                              num_classes: Optional[int] = None) -> Tensor:
    """Load an official WKD ``*_linear_cka.pth`` file and sharpen it.

    The files hold ``M = 1 - CKA`` (n x n float32, some saved from CUDA
    tensors, so they are loaded with ``map_location='cpu'``); the WKD cost
    is ``1 - exp(-kappa * M)`` (kappa 1 for R34 -> R18 and CIFAR, 2 for
    R50 -> MobileNetV1).

    Args:
        path (str | PathLike): The ``.pth`` file.
        kappa (float): Sharpening. Defaults to 1.0.
        num_classes (int, optional): Check the size against the logits.

    Returns:
        torch.Tensor: The float32 cost matrix on the CPU.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the matrix is not square, not finite, negative, or
            not ``num_classes`` wide.
    """
    cost = as_cost_matrix(path, kappa=kappa)
    if num_classes is not None:
        check_cost_width(cost.shape[0], num_classes)
    return cost
