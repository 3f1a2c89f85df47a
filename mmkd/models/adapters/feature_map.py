# Copyright (c) OpenMMLab. All rights reserved.
"""One feature-map layout for every mmpretrain backbone family.

WKD-F (and FitNet, CWD, ...) compare ``(N, C, H, W)`` maps. CNNs and
ConvNeXt stages return such maps; Transformers return tokens:

* ViT / DeiT layers (``layers.<i>``) return ``(N, L, C)``: the class token
  (and DeiT's distillation token) first, then the patch tokens in row-major
  order of the patch grid. The leading tokens (the backbone's
  ``num_extra_tokens``) are dropped: they are no position of the image, and
  what they carry reaches the logits, which a WKD-L term distils. The patch
  tokens become a map on the grid of this forward's patch embedding.
* Swin stages (``stages.<i>``) and patch embeddings/mergings return
  ``(tokens, (H, W))``; the tokens become a map on that grid.
* A backbone's own output (a stage left as None) is the last of its outputs,
  a map for ``out_type='featmap'`` / ``gap_before_final_norm=False``, tokens
  for ``out_type='raw'``.

Pooled ``(N, C)`` outputs (ViT's ``out_type='cls_token'``, ConvNeXt's
default ``gap_before_final_norm=True``) are no map: the error names the
setting or the stage to record instead.
"""
import math
from typing import Dict, Hashable, Optional, Sequence

import torch.nn as nn
from torch import Tensor

from ..recorder import StageRecorder, last_tensor

__all__ = ['to_feature_map', 'map_recorder', 'recorded_maps']

#: Recorder key of a ViT-like backbone's patch embedding, whose output
#: ``(tokens, (H, W))`` gives the patch grid of its layers' tokens.
PATCH_GRID = '__patch_grid__'


def _is_hw(value) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, int) for v in value)


def to_feature_map(output,
                   num_extra_tokens: int = 0,
                   patch_hw: Optional[Sequence[int]] = None,
                   where: str = 'the recorded module') -> Tensor:
    """The ``(N, C, H, W)`` map of what a backbone module returned.

    Args:
        output: The module's output: a map, ``(N, L, C)`` tokens, a
            ``(tokens, (H, W))`` pair, or a tuple of outputs (the last one is
            used).
        num_extra_tokens (int): Leading non-patch tokens of ``(N, L, C)``
            tokens (the backbone's ``num_extra_tokens``: 1 for ViT's class
            token, 2 for DeiT's class and distillation tokens). Dropped.
        patch_hw (tuple[int, int], optional): The patch grid of token
            outputs without one (ViT layers): that of this forward's patch
            embedding. None takes a square grid.
        where (str): What produced ``output``, for error messages.

    Returns:
        Tensor: ``(N, C, H, W)``.
    """
    if isinstance(output, (tuple, list)) and len(output) == 2 and \
            isinstance(output[0], Tensor) and _is_hw(output[1]):
        output, patch_hw, num_extra_tokens = output[0], output[1], 0
    elif isinstance(output, (tuple, list)):
        output = last_tensor(output)
    if not isinstance(output, Tensor):
        raise TypeError(f'{where} returned {type(output).__name__}, not a '
                        'tensor.')
    if output.dim() == 4:
        return output
    if output.dim() == 2:
        raise ValueError(
            f'{where} returns pooled (N, C) features {tuple(output.shape)}, '
            'not a map: record a stage inside the backbone (e.g. '
            "'layers.11' of a ViT, 'stages.3' of Swin or ConvNeXt), or make "
            "the backbone return maps (ViT/DeiT out_type='featmap', ConvNeXt "
            'gap_before_final_norm=False).')
    if output.dim() != 3:
        raise ValueError(f'{where} returns a tensor of shape '
                         f'{tuple(output.shape)}: neither a (N, C, H, W) '
                         'map nor (N, L, C) tokens.')
    n, length, channels = output.shape
    patches = length - num_extra_tokens
    if patch_hw is None:
        side = math.isqrt(max(patches, 0))
        if side * side != patches:
            raise ValueError(
                f'{where} returns {length} tokens, {patches} after the '
                f'{num_extra_tokens} leading ones, which is no square grid; '
                'its patch grid is unknown (record a stage that returns '
                'its grid, or use square inputs).')
        patch_hw = (side, side)
    h, w = patch_hw
    if h * w != patches:
        raise ValueError(
            f'{where} returns {length} tokens, but a {h}x{w} patch grid '
            f'and {num_extra_tokens} leading tokens make '
            f'{h * w + num_extra_tokens}.')
    tokens = output[:, num_extra_tokens:]
    return tokens.transpose(1, 2).reshape(n, channels, h, w)


def map_recorder(backbone: nn.Module, stages: Dict[Hashable, nn.Module],
                 others: Optional[Dict[Hashable, nn.Module]] = None
                 ) -> StageRecorder:
    """A recorder of backbone stages, kept as returned for
    :func:`recorded_maps` (with the patch embedding, whose grid token
    outputs need).

    Args:
        backbone (nn.Module): The backbone the stages belong to.
        stages (dict): Key -> module whose output becomes a map.
        others (dict, optional): Key -> module recorded as usual (the last
            tensor of its output), e.g. a head.
    """
    modules = dict(others or {})
    modules.update(stages)
    raw = set(stages)
    embed = getattr(backbone, 'patch_embed', None)
    if stages and isinstance(embed, nn.Module):
        modules[PATCH_GRID] = embed
        raw.add(PATCH_GRID)
    return StageRecorder(modules, raw=raw)


def recorded_maps(rec: StageRecorder, backbone: nn.Module,
                  stages: Sequence[Hashable],
                  who: str = 'the model') -> Dict[Hashable, Tensor]:
    """What a :func:`map_recorder` recorded, ``stages`` as ``(N, C, H, W)``
    maps (:func:`to_feature_map`) and the rest as recorded.

    Args:
        rec (StageRecorder): The recorder, after a forward.
        backbone (nn.Module): Its backbone (``num_extra_tokens``).
        stages (sequence): The keys that become maps (those present).
        who (str): Whose backbone, for error messages.
    """
    out = dict(rec.outputs)
    embedded = out.pop(PATCH_GRID, None)
    patch_hw = None
    if isinstance(embedded, (tuple, list)) and len(embedded) == 2:
        patch_hw = tuple(embedded[1])
    extra = getattr(backbone, 'num_extra_tokens', 0)
    for key in stages:
        if key in out:
            out[key] = to_feature_map(
                out[key], extra, patch_hw, f'{who} ' +
                ('backbone' if key is None else f'backbone.{key}'))
    return out
