# Copyright (c) OpenMMLab. All rights reserved.
"""timm state dicts in mmpretrain's module names.

OFA's CIFAR-100 teachers (Hao840/OFAKD) and many shared checkpoints are timm
models. :func:`timm_to_mmpretrain` maps a timm state dict of

* ViT / DeiT (``vit_*``, ``deit_*``: ``blocks.<i>``, ``norm``, ``head``),
* Swin (``swin_*``: ``layers.<i>``, with its patch merging at the start of a
  stage where mmpretrain has it at the end of the previous one),
* ConvNeXt (``convnext_*``: ``stem``, ``stages.<i>.blocks.<j>``,
  ``head.norm``/``head.fc``),
* ResNet (``resnet*``: torchvision's names, ``fc``)

onto an mmpretrain ``ImageClassifier`` with the matching backbone
(``VisionTransformer``, ``SwinTransformer``, ``ConvNeXt``, ``ResNet``) and
head (``VisionTransformerClsHead`` for ViTs, ``LinearClsHead`` otherwise),
so that both give the same outputs (tested against timm itself).

Swin's patch merging concatenates the four positions of a 2 x 2 window
block after block (``(0, 0), (1, 0), (0, 1), (1, 1)`` as (row, column));
mmpretrain's unfolds them channel after channel in row-major order, so the
merging's norm and reduction weights are permuted accordingly. Buffers that
timm does not save (Swin's relative position index) keep the model's own.
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple

import torch.nn as nn
from torch import Tensor

__all__ = ['TIMM_BACKBONES', 'timm_to_mmpretrain', 'looks_like_timm']

Rule = Tuple[str, str]

_VIT: List[Rule] = [
    (r'^(cls_token|dist_token|pos_embed)$', r'backbone.\1'),
    (r'^patch_embed\.proj\.', 'backbone.patch_embed.projection.'),
    (r'^blocks\.(\d+)\.norm1\.', r'backbone.layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.norm2\.', r'backbone.layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.attn\.', r'backbone.layers.\1.attn.'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'backbone.layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'backbone.layers.\1.ffn.layers.1.'),
    (r'^norm\.', 'backbone.ln1.'),
    (r'^head\.', 'head.layers.head.'),
]
_CONVNEXT: List[Rule] = [
    (r'^stem\.(\d)\.', r'backbone.downsample_layers.0.\1.'),
    (r'^stages\.(\d+)\.downsample\.', r'backbone.downsample_layers.\1.'),
    (r'^stages\.(\d+)\.blocks\.(\d+)\.conv_dw\.',
     r'backbone.stages.\1.\2.depthwise_conv.'),
    (r'^stages\.(\d+)\.blocks\.(\d+)\.mlp\.fc1\.',
     r'backbone.stages.\1.\2.pointwise_conv1.'),
    (r'^stages\.(\d+)\.blocks\.(\d+)\.mlp\.fc2\.',
     r'backbone.stages.\1.\2.pointwise_conv2.'),
    (r'^stages\.(\d+)\.blocks\.(\d+)\.(norm\.|gamma$)',
     r'backbone.stages.\1.\2.\3'),
    (r'^head\.norm\.', 'backbone.norm3.'),
    (r'^head\.fc\.', 'head.fc.'),
]
_SWIN: List[Rule] = [
    (r'^patch_embed\.proj\.', 'backbone.patch_embed.projection.'),
    (r'^patch_embed\.norm\.', 'backbone.patch_embed.norm.'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.attn\.', r'backbone.stages.\1.blocks.'
     r'\2.attn.w_msa.'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc1\.',
     r'backbone.stages.\1.blocks.\2.ffn.layers.0.0.'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc2\.',
     r'backbone.stages.\1.blocks.\2.ffn.layers.1.'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.(norm[12]\.)',
     r'backbone.stages.\1.blocks.\2.\3'),
    (r'^head\.fc\.', 'head.fc.'),
]
_RESNET: List[Rule] = [
    (r'^fc\.', 'head.fc.'),
    (r'^', 'backbone.'),
]


def _unfold_order(x: Tensor) -> Tensor:
    """Swin patch-merging weights from timm's block order to mmpretrain's
    unfold order (the input dimension, the last one)."""
    *lead, four_c = x.shape
    c = four_c // 4
    # timm block b in (row, col) order (0,0), (1,0), (0,1), (1,1); unfold
    # position k = 2 * row + col: k 0, 1, 2, 3 are blocks 0, 2, 1, 3
    return x.reshape(*lead, 4, c)[..., [0, 2, 1, 3], :].transpose(
        -1, -2).reshape(*lead, four_c)


def _swin_extra(key: str, value: Tensor,
                model: nn.Module) -> Optional[Tuple[str, Tensor]]:
    """Swin's patch merging (stage i in timm is the end of stage i - 1 in
    mmpretrain) and final norm (``norm<last stage>``)."""
    m = re.match(r'^layers\.(\d+)\.downsample\.(norm|reduction)\.(\w+)$', key)
    if m:
        stage = int(m.group(1)) - 1
        return (f'backbone.stages.{stage}.downsample.{m.group(2)}.'
                f'{m.group(3)}', _unfold_order(value))
    m = re.match(r'^norm\.(\w+)$', key)
    if m:
        last = len(model.backbone.stages) - 1
        return f'backbone.norm{last}.{m.group(1)}', value
    return None


#: mmpretrain backbone class -> (timm key rules, extra mapping or None,
#: a key every timm state dict of that family has).
TIMM_BACKBONES: Dict[str, Tuple[List[Rule], Optional[Callable], str]] = {
    'VisionTransformer': (_VIT, None, 'patch_embed.proj.weight'),
    'DistilledVisionTransformer': (_VIT, None, 'patch_embed.proj.weight'),
    'SwinTransformer': (_SWIN, _swin_extra, 'patch_embed.proj.weight'),
    'ConvNeXt': (_CONVNEXT, None, 'stem.0.weight'),
    'ResNet': (_RESNET, None, 'layer1.0.conv1.weight'),
}


def looks_like_timm(state: Dict[str, Tensor], model: nn.Module) -> bool:
    """Whether ``state`` is a timm state dict of ``model``'s backbone
    family (and not already in mmpretrain's names)."""
    backbone = getattr(model, 'backbone', None)
    spec = TIMM_BACKBONES.get(type(backbone).__name__)
    return spec is not None and spec[2] in state and not any(
        k.startswith('backbone.') for k in state)


def timm_to_mmpretrain(state: Dict[str, Tensor],
                       model: nn.Module) -> 'OrderedDict[str, Tensor]':
    """A timm state dict in the keys of the mmpretrain classifier ``model``.

    Args:
        state (dict): The timm state dict (``model.state_dict()`` of timm).
        model (nn.Module): An mmpretrain ``ImageClassifier`` whose backbone
            is one of :data:`TIMM_BACKBONES`.

    Returns:
        OrderedDict: The state dict in ``model``'s keys; entries timm does
        not save (Swin's relative position index) are ``model``'s own.

    Raises:
        ValueError: If the backbone family has no mapping, or a timm key
            has no place in the model (both listed).
    """
    backbone = getattr(model, 'backbone', None)
    name = type(backbone).__name__
    if name not in TIMM_BACKBONES:
        raise ValueError(
            f'No timm mapping for an mmpretrain {name} backbone; supported: '
            f'{", ".join(TIMM_BACKBONES)}.')
    rules, extra, _ = TIMM_BACKBONES[name]
    own = model.state_dict()
    out, unplaced = OrderedDict(), []
    for key, value in state.items():
        mapped = extra(key, value, model) if extra else None
        if mapped is None:
            for pattern, repl in rules:
                if re.match(pattern, key):
                    mapped = (re.sub(pattern, repl, key, count=1), value)
                    break
        if mapped is None or mapped[0] not in own:
            unplaced.append(key if mapped is None else
                            f'{key} -> {mapped[0]}')
            continue
        out[mapped[0]] = mapped[1]
    if unplaced:
        raise ValueError(
            f'timm keys without a place in the mmpretrain {name} '
            f'classifier ({len(unplaced)}): {", ".join(unplaced[:10])}; is '
            'it the same architecture (arch, patch size, number of '
            'classes)?')
    for key, value in own.items():
        if key not in out and key.endswith('relative_position_index'):
            out[key] = value
    return out
