# Copyright (c) OpenMMLab. All rights reserved.
"""The CRD CIFAR-100 model zoo backbones and the official-checkpoint keys.

What the official networks (CRD / mdistiller ``mdistiller/models/cifar/``,
copied by the official WKD code) are is established here independently of
the mmkd implementation:

* ``PARAMS``: parameter counts with a 100-class classifier, computed by
  hand from the official definitions (five of them, resnet8x4, resnet32x4,
  wrn_40_2, ShuffleV1 and resnet56, were also measured on the official
  networks);
* ``_official_layout``: the official state-dict keys and shapes, written
  from the official constructors;
* ``_official_forward``: a functional forward (``torch.nn.functional``
  only) of each official network on an official-key state dict, returning
  the logits and the official ``feats[-1]``.

The mmkd classifiers (``ImageClassifier`` + ``GlobalAveragePooling`` +
``LinearClsHead``) must match all three.
"""
import math
from collections import OrderedDict
from typing import Callable, Dict, Optional

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

from mmkd.models.backbones.cifar_checkpoint import (CIFAR_ARCHS,
                                                    OFFICIAL_CLASSIFIERS,
                                                    cifar_classifier_cfg,
                                                    mmkd_to_official,
                                                    official_to_mmkd)
from mmkd.models.backbones.cifar_mobilenetv2 import CIFARMobileNetV2
from mmkd.models.backbones.cifar_resnet import CIFARResNet
from mmkd.models.backbones.cifar_resnet_v2 import CIFARResNetV2
from mmkd.models.backbones.cifar_shufflenetv1 import CIFARShuffleNetV1
from mmkd.models.backbones.cifar_shufflenetv2 import CIFARShuffleNetV2
from mmkd.models.backbones.cifar_vgg import CIFARVGG
from mmkd.models.backbones.cifar_wrn import CIFARWideResNet

ARCHS = list(CIFAR_ARCHS)

#: Parameters (BN affine included) with a 100-class linear classifier.
PARAMS = {
    'resnet8': 83_892,
    'resnet14': 181_108,
    'resnet20': 278_324,
    'resnet32': 472_756,
    'resnet44': 667_188,
    'resnet56': 861_620,
    'resnet110': 1_736_564,
    'resnet8x4': 1_233_540,
    'resnet32x4': 7_433_860,
    'wrn_16_1': 180_916,
    'wrn_16_2': 703_284,
    'wrn_40_1': 569_780,
    'wrn_40_2': 2_255_156,
    'vgg8': 3_965_028,
    'vgg11': 9_277_284,
    'vgg13': 9_462_180,
    'vgg16': 14_774_436,
    'vgg19': 20_086_692,
    'MobileNetV2': 812_836,
    'ShuffleV1': 949_258,
    'ShuffleV2': 1_355_528,
    'ResNet18': 11_220_132,
    'ResNet50': 23_705_252,
}

#: (backbone output, official ``feats[-1]``) shapes at 32x32, and the
#: submodule whose output is ``feats[-1]`` (None: the backbone output).
SHAPES = {
    **{f'resnet{d}': ((64, 8, 8), (64, 8, 8))
       for d in (8, 14, 20, 32, 44, 56, 110)},
    'resnet8x4': ((256, 8, 8), (256, 8, 8)),
    'resnet32x4': ((256, 8, 8), (256, 8, 8)),
    'wrn_16_1': ((64, 8, 8), (64, 8, 8)),
    'wrn_16_2': ((128, 8, 8), (128, 8, 8)),
    'wrn_40_1': ((64, 8, 8), (64, 8, 8)),
    'wrn_40_2': ((128, 8, 8), (128, 8, 8)),
    **{name: ((512, 4, 4), (512, 4, 4))
       for name in ('vgg8', 'vgg11', 'vgg13', 'vgg16', 'vgg19')},
    'MobileNetV2': ((1280, 2, 2), (160, 2, 2)),
    'ShuffleV1': ((960, 4, 4), (960, 4, 4)),
    'ShuffleV2': ((1024, 4, 4), (464, 4, 4)),
    'ResNet18': ((512, 4, 4), (512, 4, 4)),
    'ResNet50': ((2048, 4, 4), (2048, 4, 4)),
}
DISTILL_STAGES = {
    **{name: None for name in ARCHS},
    **{f'wrn_{d}_{k}': 'block3' for d in (16, 40) for k in (1, 2)},
    'MobileNetV2': 'blocks.6',
    'ShuffleV2': 'layer3',
}
CLASSIFIERS = {
    **{name: 'fc' for name in ARCHS if name.startswith(('resnet', 'wrn'))},
    **{name: 'classifier' for name in ARCHS if name.startswith('vgg')},
    'MobileNetV2': 'classifier.0',
    'ShuffleV1': 'linear',
    'ShuffleV2': 'linear',
    'ResNet18': 'linear',
    'ResNet50': 'linear',
}

# --------------------------------------------------------------------------
# The official key layouts, from the official constructors.
# --------------------------------------------------------------------------
VGG_CFGS = {
    'vgg8': [[64], [128], [256], [512], [512]],
    'vgg11': [[64], [128], [256, 256], [512, 512], [512, 512]],
    'vgg13': [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    'vgg16': [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3],
    'vgg19': [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4],
}
MBV2_SETTING = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
SHV1_STAGES = ((240, 4), (480, 8), (960, 4))
SHV2_STAGES = ((116, 3), (232, 7), (464, 3))


def _conv(lay, name, cout, cin_per_group, k, bias=False):
    lay[name + '.weight'] = (cout, cin_per_group, k, k)
    if bias:
        lay[name + '.bias'] = (cout, )


def _bn(lay, name, c):
    for field in ('weight', 'bias', 'running_mean', 'running_var'):
        lay[f'{name}.{field}'] = (c, )
    lay[name + '.num_batches_tracked'] = ()


def _linear(lay, name, cin, n=100):
    lay[name + '.weight'] = (n, cin)
    lay[name + '.bias'] = (n, )


def _layout_resnet(depth, nf):
    lay = OrderedDict()
    _conv(lay, 'conv1', nf[0], 3, 3)
    _bn(lay, 'bn1', nf[0])
    inplanes = nf[0]
    for i in (1, 2, 3):
        planes = nf[i]
        for j in range((depth - 2) // 6):
            p = f'layer{i}.{j}'
            _conv(lay, p + '.conv1', planes, inplanes if j == 0 else planes,
                  3)
            _bn(lay, p + '.bn1', planes)
            _conv(lay, p + '.conv2', planes, planes, 3)
            _bn(lay, p + '.bn2', planes)
            if j == 0 and (i > 1 or inplanes != planes):
                _conv(lay, p + '.downsample.0', planes, inplanes, 1)
                _bn(lay, p + '.downsample.1', planes)
        inplanes = planes
    _linear(lay, 'fc', nf[3])
    return lay


def _layout_wrn(depth, k):
    ch = [16, 16 * k, 32 * k, 64 * k]
    lay = OrderedDict()
    _conv(lay, 'conv1', 16, 3, 3)
    for g in (1, 2, 3):
        for j in range((depth - 4) // 6):
            p = f'block{g}.layer.{j}'
            cin, cout = (ch[g - 1] if j == 0 else ch[g]), ch[g]
            _bn(lay, p + '.bn1', cin)
            _conv(lay, p + '.conv1', cout, cin, 3)
            _bn(lay, p + '.bn2', cout)
            _conv(lay, p + '.conv2', cout, cout, 3)
            if cin != cout:
                _conv(lay, p + '.convShortcut', cout, cin, 1)
    _bn(lay, 'bn1', ch[3])
    _linear(lay, 'fc', ch[3])
    return lay


def _layout_vgg(cfg):
    lay, cin = OrderedDict(), 3
    for i, widths in enumerate(cfg):
        for j, v in enumerate(widths):  # conv, BN, ReLU per width
            _conv(lay, f'block{i}.{3 * j}', v, cin, 3, bias=True)
            _bn(lay, f'block{i}.{3 * j + 1}', v)
            cin = v
    _linear(lay, 'classifier', 512)
    return lay


def _layout_mbv2():
    lay, inp = OrderedDict(), 16
    _conv(lay, 'conv1.0', 16, 3, 3)
    _bn(lay, 'conv1.1', 16)
    for i, (t, c, n, s) in enumerate(MBV2_SETTING):
        oc = int(c * 0.5)
        for j in range(n):
            p, hid = f'blocks.{i}.{j}.conv', inp * t
            _conv(lay, p + '.0', hid, inp, 1)
            _bn(lay, p + '.1', hid)
            _conv(lay, p + '.3', hid, 1, 3)
            _bn(lay, p + '.4', hid)
            _conv(lay, p + '.6', oc, hid, 1)
            _bn(lay, p + '.7', oc)
            inp = oc
    _conv(lay, 'conv2.0', 1280, inp, 1)
    _bn(lay, 'conv2.1', 1280)
    _linear(lay, 'classifier.0', 1280)
    return lay


def _layout_shv1():
    lay, inp = OrderedDict(), 24
    _conv(lay, 'conv1', 24, 3, 1)
    _bn(lay, 'bn1', 24)
    for i, (out, nb) in enumerate(SHV1_STAGES):
        for j in range(nb):
            p = f'layer{i + 1}.{j}'
            o = out - inp if j == 0 else out
            mid, g = o // 4, (1 if inp == 24 else 3)
            _conv(lay, p + '.conv1', mid, inp // g, 1)
            _bn(lay, p + '.bn1', mid)
            _conv(lay, p + '.conv2', mid, 1, 3)
            _bn(lay, p + '.bn2', mid)
            _conv(lay, p + '.conv3', o, mid // 3, 1)
            _bn(lay, p + '.bn3', o)
            inp = out
    _linear(lay, 'linear', 960)
    return lay


def _layout_shv2():
    lay, inp = OrderedDict(), 24
    _conv(lay, 'conv1', 24, 3, 1)
    _bn(lay, 'bn1', 24)
    for i, (out, nb) in enumerate(SHV2_STAGES):
        p, mid = f'layer{i + 1}.0', out // 2
        for n, (cout, cin, k) in enumerate(
            [(inp, 1, 3), (mid, inp, 1), (mid, inp, 1), (mid, 1, 3),
             (mid, mid, 1)], 1):
            _conv(lay, f'{p}.conv{n}', cout, cin, k)
            _bn(lay, f'{p}.bn{n}', cout)
        for j in range(1, nb + 1):
            p = f'layer{i + 1}.{j}'
            for n, (cin, k) in enumerate([(mid, 1), (1, 3), (mid, 1)], 1):
                _conv(lay, f'{p}.conv{n}', mid, cin, k)
                _bn(lay, f'{p}.bn{n}', mid)
        inp = out
    _conv(lay, 'conv2', 1024, 464, 1)
    _bn(lay, 'bn2', 1024)
    _linear(lay, 'linear', 1024)
    return lay


def _layout_rv2(bottleneck, num_blocks):
    e = 4 if bottleneck else 1
    lay, inp = OrderedDict(), 64
    _conv(lay, 'conv1', 64, 3, 3)
    _bn(lay, 'bn1', 64)
    for i, (planes, nb) in enumerate(zip((64, 128, 256, 512), num_blocks)):
        for j in range(nb):
            p, s = f'layer{i + 1}.{j}', (2 if i > 0 and j == 0 else 1)
            if bottleneck:
                convs = [(planes, inp, 1), (planes, planes, 3),
                         (4 * planes, planes, 1)]
            else:
                convs = [(planes, inp, 3), (planes, planes, 3)]
            for n, (cout, cin, k) in enumerate(convs, 1):
                _conv(lay, f'{p}.conv{n}', cout, cin, k)
                _bn(lay, f'{p}.bn{n}', cout)
            if s != 1 or inp != e * planes:
                _conv(lay, p + '.shortcut.0', e * planes, inp, 1)
                _bn(lay, p + '.shortcut.1', e * planes)
            inp = e * planes
    _linear(lay, 'linear', 512 * e)
    return lay


def _official_layout(arch: str) -> 'OrderedDict[str, tuple]':
    if arch.startswith('resnet'):
        depth = int(arch[6:].replace('x4', ''))
        nf = [32, 64, 128, 256] if arch.endswith('x4') else [16, 16, 32, 64]
        return _layout_resnet(depth, nf)
    if arch.startswith('wrn'):
        _, depth, k = arch.split('_')
        return _layout_wrn(int(depth), int(k))
    if arch.startswith('vgg'):
        return _layout_vgg(VGG_CFGS[arch])
    return {
        'MobileNetV2': _layout_mbv2,
        'ShuffleV1': _layout_shv1,
        'ShuffleV2': _layout_shv2,
        'ResNet18': lambda: _layout_rv2(False, (2, 2, 2, 2)),
        'ResNet50': lambda: _layout_rv2(True, (3, 4, 6, 3)),
    }[arch]()


_BUFFERS = ('running_mean', 'running_var', 'num_batches_tracked')

# --------------------------------------------------------------------------
# Functional forwards of the official networks on official-key weights.
# --------------------------------------------------------------------------


class _Recorder(dict):
    """A state dict that records which keys were read."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def _c(sd, name, x, stride=1, padding=0, groups=1):
    bias = sd[name + '.bias'] if name + '.bias' in sd else None
    return F.conv2d(x, sd[name + '.weight'], bias, stride, padding, 1, groups)


def _b(sd, name, x):
    return F.batch_norm(x, sd[name + '.running_mean'],
                        sd[name + '.running_var'], sd[name + '.weight'],
                        sd[name + '.bias'], False, 0.0, 1e-5)


def _fc(sd, name, x):
    return F.linear(x.mean((2, 3)), sd[name + '.weight'], sd[name + '.bias'])


def _shuffle(x, g):
    n, c, h, w = x.shape
    return x.view(n, g, c // g, h, w).permute(0, 2, 1, 3, 4).reshape(
        n, c, h, w)


def _fwd_resnet(sd, x, depth):
    x = F.relu(_b(sd, 'bn1', _c(sd, 'conv1', x, 1, 1)))
    for i in (1, 2, 3):
        for j in range((depth - 2) // 6):
            p, s = f'layer{i}.{j}', (2 if i > 1 and j == 0 else 1)
            out = F.relu(_b(sd, p + '.bn1', _c(sd, p + '.conv1', x, s, 1)))
            out = _b(sd, p + '.bn2', _c(sd, p + '.conv2', out, 1, 1))
            if p + '.downsample.0.weight' in sd:
                x = _b(sd, p + '.downsample.1',
                       _c(sd, p + '.downsample.0', x, s))
            x = F.relu(out + x)
    return _fc(sd, 'fc', x), x


def _fwd_wrn(sd, x, depth):
    x = _c(sd, 'conv1', x, 1, 1)
    for g in (1, 2, 3):
        for j in range((depth - 4) // 6):
            p, s = f'block{g}.layer.{j}', (2 if g > 1 and j == 0 else 1)
            act = F.relu(_b(sd, p + '.bn1', x))
            out = F.relu(_b(sd, p + '.bn2', _c(sd, p + '.conv1', act, s, 1)))
            out = _c(sd, p + '.conv2', out, 1, 1)
            if p + '.convShortcut.weight' in sd:  # shortcut of the act. input
                x = _c(sd, p + '.convShortcut', act, s)
            x = x + out
    return _fc(sd, 'fc', F.relu(_b(sd, 'bn1', x))), x


def _fwd_vgg(sd, x, cfg):
    for i, widths in enumerate(cfg):
        for j in range(len(widths)):
            x = F.relu(
                _b(sd, f'block{i}.{3 * j + 1}',
                   _c(sd, f'block{i}.{3 * j}', x, 1, 1)))
        if i < 3:  # pool3 only for 64x64 inputs
            x = F.max_pool2d(x, 2, 2)
    return _fc(sd, 'classifier', x), x


def _fwd_mbv2(sd, x):
    x = F.relu(_b(sd, 'conv1.1', _c(sd, 'conv1.0', x, 2, 1)))
    for i, (t, c, n, s) in enumerate(MBV2_SETTING):
        for j in range(n):
            p, st = f'blocks.{i}.{j}.conv', (s if j == 0 else 1)
            hid = x.shape[1] * t
            h = F.relu(_b(sd, p + '.1', _c(sd, p + '.0', x)))
            h = F.relu(_b(sd, p + '.4', _c(sd, p + '.3', h, st, 1, hid)))
            h = _b(sd, p + '.7', _c(sd, p + '.6', h))
            x = x + h if st == 1 and x.shape[1] == h.shape[1] else h
    feat = x
    x = F.relu(_b(sd, 'conv2.1', _c(sd, 'conv2.0', x)))
    return _fc(sd, 'classifier.0', x), feat


def _fwd_shv1(sd, x):
    x = F.relu(_b(sd, 'bn1', _c(sd, 'conv1', x)))
    for i, (out, nb) in enumerate(SHV1_STAGES):
        for j in range(nb):
            p, s = f'layer{i + 1}.{j}', (2 if j == 0 else 1)
            g = 1 if x.shape[1] == 24 else 3
            h = F.relu(_b(sd, p + '.bn1', _c(sd, p + '.conv1', x, groups=g)))
            h = _shuffle(h, g)
            h = F.relu(
                _b(sd, p + '.bn2', _c(sd, p + '.conv2', h, s, 1, h.shape[1])))
            h = _b(sd, p + '.bn3', _c(sd, p + '.conv3', h, groups=3))
            x = F.relu(
                torch.cat([h, F.avg_pool2d(x, 3, 2, 1)], 1) if s == 2 else h +
                x)
    return _fc(sd, 'linear', x), x


def _fwd_shv2(sd, x):
    x = F.relu(_b(sd, 'bn1', _c(sd, 'conv1', x)))
    for i, (out, nb) in enumerate(SHV2_STAGES):
        p, mid = f'layer{i + 1}.0', out // 2
        left = _b(sd, p + '.bn1', _c(sd, p + '.conv1', x, 2, 1, x.shape[1]))
        left = F.relu(_b(sd, p + '.bn2', _c(sd, p + '.conv2', left)))
        right = F.relu(_b(sd, p + '.bn3', _c(sd, p + '.conv3', x)))
        right = _b(sd, p + '.bn4', _c(sd, p + '.conv4', right, 2, 1, mid))
        right = F.relu(_b(sd, p + '.bn5', _c(sd, p + '.conv5', right)))
        x = _shuffle(torch.cat([left, right], 1), 2)
        for j in range(1, nb + 1):
            p = f'layer{i + 1}.{j}'
            kept, h = x[:, :mid], x[:, mid:]
            h = F.relu(_b(sd, p + '.bn1', _c(sd, p + '.conv1', h)))
            h = _b(sd, p + '.bn2', _c(sd, p + '.conv2', h, 1, 1, mid))
            h = F.relu(_b(sd, p + '.bn3', _c(sd, p + '.conv3', h)))
            x = _shuffle(torch.cat([kept, h], 1), 2)
    feat = x
    x = F.relu(_b(sd, 'bn2', _c(sd, 'conv2', x)))
    return _fc(sd, 'linear', x), feat


def _fwd_rv2(sd, x, bottleneck, num_blocks):
    x = F.relu(_b(sd, 'bn1', _c(sd, 'conv1', x, 1, 1)))
    for i, nb in enumerate(num_blocks):
        for j in range(nb):
            p, s = f'layer{i + 1}.{j}', (2 if i > 0 and j == 0 else 1)
            if bottleneck:
                h = F.relu(_b(sd, p + '.bn1', _c(sd, p + '.conv1', x)))
                h = F.relu(_b(sd, p + '.bn2', _c(sd, p + '.conv2', h, s, 1)))
                h = _b(sd, p + '.bn3', _c(sd, p + '.conv3', h))
            else:
                h = F.relu(_b(sd, p + '.bn1', _c(sd, p + '.conv1', x, s, 1)))
                h = _b(sd, p + '.bn2', _c(sd, p + '.conv2', h, 1, 1))
            if p + '.shortcut.0.weight' in sd:
                x = _b(sd, p + '.shortcut.1', _c(sd, p + '.shortcut.0', x, s))
            x = F.relu(h + x)
    return _fc(sd, 'linear', x), x


def _official_forward(arch: str) -> Callable:
    if arch.startswith('resnet'):
        depth = int(arch[6:].replace('x4', ''))
        return lambda sd, x: _fwd_resnet(sd, x, depth)
    if arch.startswith('wrn'):
        return lambda sd, x: _fwd_wrn(sd, x, int(arch.split('_')[1]))
    if arch.startswith('vgg'):
        return lambda sd, x: _fwd_vgg(sd, x, VGG_CFGS[arch])
    return {
        'MobileNetV2': _fwd_mbv2,
        'ShuffleV1': _fwd_shv1,
        'ShuffleV2': _fwd_shv2,
        'ResNet18': lambda sd, x: _fwd_rv2(sd, x, False, (2, 2, 2, 2)),
        'ResNet50': lambda sd, x: _fwd_rv2(sd, x, True, (3, 4, 6, 3)),
    }[arch]


# --------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------


def _classifier(arch: str, device: Optional[str] = None):
    """``ImageClassifier`` + GAP + ``LinearClsHead(100)``, from
    :data:`CIFAR_ARCHS` (built on ``device``, e.g. 'meta')."""
    backbone, in_channels = CIFAR_ARCHS[arch]
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(backbone),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead', num_classes=100, in_channels=in_channels))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        if device is None:
            return MODELS.build(cfg)
        with torch.device(device):
            return MODELS.build(cfg)


def _randomise(model, seed: int = 0) -> None:
    """Random values in every parameter and buffer (BN running stats and
    ``num_batches_tracked`` included), scaled to keep activations sane."""
    gen = torch.Generator().manual_seed(seed)
    new = OrderedDict()
    for key, value in model.state_dict().items():
        shape = value.shape
        if key.endswith('num_batches_tracked'):
            rnd = torch.randint(1, 10_000, shape, generator=gen)
        elif key.endswith('running_var'):
            rnd = torch.rand(shape, generator=gen) * 1.5 + 0.5
        elif key.endswith('running_mean'):
            rnd = torch.randn(shape, generator=gen) * 0.2
        elif value.dim() > 1:
            rnd = torch.randn(shape, generator=gen) / math.sqrt(
                value[0].numel())
        elif key.endswith('weight'):
            rnd = torch.rand(shape, generator=gen) * 0.5 + 0.5
        else:
            rnd = torch.randn(shape, generator=gen) * 0.1
        new[key] = rnd.to(value.dtype)
    model.load_state_dict(new)


def _assert_same_state(a: Dict, b: Dict) -> None:
    assert list(a) == list(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert torch.equal(a[key], b[key]), key


# --------------------------------------------------------------------------
# 1. Parameter counts.
# --------------------------------------------------------------------------


def test_every_official_arch_is_covered():
    assert set(CIFAR_ARCHS) == set(PARAMS) == set(SHAPES)
    assert OFFICIAL_CLASSIFIERS == CLASSIFIERS


@pytest.mark.parametrize('arch', ARCHS)
def test_parameter_counts(arch):
    model = _classifier(arch, device='meta')
    assert sum(p.numel() for p in model.parameters()) == PARAMS[arch]
    # The independent official layout agrees with the hand counts.
    layout = _official_layout(arch)
    assert sum(
        math.prod(shape) for key, shape in layout.items()
        if not key.endswith(_BUFFERS)) == PARAMS[arch]


def test_classifier_cfg_builds_the_same_classifier():
    cfg = cifar_classifier_cfg('wrn_40_2')
    assert cfg['backbone'] == dict(
        type='mmkd.CIFARWideResNet', arch='wrn_40_2')
    assert cfg['neck'] == dict(type='GlobalAveragePooling')
    assert (cfg['head']['type'], cfg['head']['in_channels'],
            cfg['head']['num_classes']) == ('LinearClsHead', 128, 100)
    with DefaultScope.overwrite_default_scope('mmpretrain'), \
            torch.device('meta'):
        model = MODELS.build(cfg)
    assert sum(p.numel() for p in model.parameters()) == PARAMS['wrn_40_2']
    assert cifar_classifier_cfg('vgg8', 10)['head']['num_classes'] == 10


# --------------------------------------------------------------------------
# 2. Output and distilled-feature shapes.
# --------------------------------------------------------------------------


@pytest.mark.parametrize('arch', ARCHS)
def test_output_and_distill_stage_shapes(arch):
    torch.manual_seed(0)
    model = _classifier(arch)
    backbone = model.backbone
    assert type(backbone).DISTILL_STAGE == DISTILL_STAGES[arch]
    out_shape, feat_shape = SHAPES[arch]
    stage = backbone.DISTILL_STAGE
    seen = []
    if stage is not None:
        dict(backbone.named_modules())[stage].register_forward_hook(
            lambda m, i, o: seen.append((o, o._version)))
    x = torch.rand(2, 3, 32, 32)
    for mode in (True, False):  # train, eval
        model.train(mode)
        seen.clear()
        with torch.no_grad():
            outs = backbone(x)
        assert isinstance(outs, tuple) and len(outs) == 1
        assert tuple(outs[0].shape) == (2, ) + out_shape
        if stage is None:
            assert out_shape == feat_shape
            continue
        assert len(seen) == 1  # runs once per forward
        feat, version = seen[0]
        assert tuple(feat.shape) == (2, ) + feat_shape
        assert feat._version == version  # not modified in place later


def test_out_indices():
    x = torch.rand(2, 3, 32, 32)
    cases = [
        (CIFARResNet('resnet8x4', out_indices=(0, 1, 2)),
         [(64, 32, 32), (128, 16, 16), (256, 8, 8)]),
        (CIFARWideResNet(arch='wrn_16_2', out_indices=(0, 1, 2, 3)),
         [(32, 32, 32), (64, 16, 16), (128, 8, 8), (128, 8, 8)]),
        (CIFARVGG('vgg8', out_indices=range(5)),
         [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4),
          (512, 4, 4)]),
        (CIFARMobileNetV2(out_indices=(1, 6, 7)), [(12, 16, 16), (160, 2, 2),
                                                    (1280, 2, 2)]),
        (CIFARShuffleNetV1(out_indices=(0, 1)), [(240, 16, 16),
                                                 (480, 8, 8)]),
        (CIFARShuffleNetV2(out_indices=(2, 3)), [(464, 4, 4), (1024, 4, 4)]),
        (CIFARResNetV2('resnet18', out_indices=(0, 3)), [(64, 32, 32),
                                                         (512, 4, 4)]),
    ]
    for backbone, shapes in cases:
        backbone.eval()
        with torch.no_grad():
            outs = backbone(x)
        assert [tuple(o.shape[1:]) for o in outs] == shapes
    # The same depth / width given explicitly instead of arch.
    assert [n for n, _ in CIFARWideResNet(depth=40, widen_factor=2)
            .named_parameters()] == [
                n for n, _ in CIFARWideResNet(arch='wrn_40_2')
                .named_parameters()]


def test_official_initialisation():
    torch.manual_seed(0)
    model = _classifier('resnet8x4')
    model.init_weights()
    bns = [m for m in model.backbone.modules()
           if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(
        bool((m.weight == 1).all()) and bool((m.bias == 0).all())
        for m in bns)
    conv = model.backbone.layer3[0].conv2  # 256 x 256 x 3 x 3
    expected = math.sqrt(2.0 / (256 * 9))  # Kaiming normal, fan-out
    assert abs(float(conv.weight.detach().std()) / expected - 1) < 0.02
    vgg = CIFARVGG('vgg8')
    vgg.init_weights()
    assert float(vgg.block0[0].bias.detach().abs().max()) == 0


# --------------------------------------------------------------------------
# 3. The key mapping, and equality with the official forward.
# --------------------------------------------------------------------------


@pytest.mark.parametrize('arch', ARCHS)
def test_official_key_layout(arch):
    model = _classifier(arch, device='meta')
    official = mmkd_to_official(model.state_dict(), arch)
    expected = _official_layout(arch)
    assert list(official) == list(expected)  # same keys, same order
    assert {k: tuple(v.shape) for k, v in official.items()} == dict(expected)
    classifier = CLASSIFIERS[arch]
    assert list(official)[-2:] == [classifier + '.weight',
                                   classifier + '.bias']


@pytest.mark.parametrize('arch', ARCHS)
def test_mapping_round_trip_on_random_weights(arch):
    model = _classifier(arch)
    _randomise(model, seed=1)
    state = model.state_dict()
    official = mmkd_to_official(state, arch)
    assert len(official) == len(state)
    back = official_to_mmkd(official, arch)
    _assert_same_state(back, state)
    classifier = CLASSIFIERS[arch]
    assert torch.equal(official[classifier + '.weight'],
                       state['head.fc.weight'])


@pytest.mark.parametrize('arch', ARCHS)
def test_logits_equal_the_official_functional_forward(arch):
    torch.manual_seed(0)
    model = _classifier(arch).double()
    _randomise(model, seed=2)
    model.eval()
    official = _Recorder(mmkd_to_official(model.state_dict(), arch))
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)

    backbone, stage = model.backbone, model.backbone.DISTILL_STAGE
    seen = []
    if stage is not None:
        dict(backbone.named_modules())[stage].register_forward_hook(
            lambda m, i, o: seen.append(o))
    with torch.no_grad():
        logits = model(x, mode='tensor')
        feat = seen[0] if stage is not None else backbone(x)[-1]
        ref_logits, ref_feat = _official_forward(arch)(official, x)
    assert ref_logits.shape == (2, 100)
    assert float(ref_logits.std()) > 1e-2  # a meaningful comparison
    torch.testing.assert_close(logits, ref_logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(feat, ref_feat, rtol=0, atol=1e-5)
    # The reference read every weight and running statistic.
    assert official.read == {
        k for k in official if not k.endswith('num_batches_tracked')}


# --------------------------------------------------------------------------
# Checkpoint wrappers.
# --------------------------------------------------------------------------


def test_checkpoint_dict_module_prefix_and_old_checkpoints():
    model = _classifier('resnet8')
    _randomise(model, seed=3)
    state = model.state_dict()
    official = mmkd_to_official(state, 'resnet8')
    # What ckpt_epoch_240.pth holds, and a DataParallel state dict.
    ckpt = {'epoch': 240, 'model': official, 'accuracy': 70.0}
    _assert_same_state(official_to_mmkd(ckpt, 'resnet8'), state)
    ddp = OrderedDict(('module.' + k, v) for k, v in official.items())
    _assert_same_state(official_to_mmkd(ddp, 'resnet8'), state)
    # An mmengine checkpoint on the way back.
    _assert_same_state(
        mmkd_to_official({'state_dict': state, 'meta': {}}, 'resnet8'),
        official)
    # PyTorch < 0.4.1 checkpoints have no num_batches_tracked.
    old = OrderedDict((k, v) for k, v in official.items()
                      if not k.endswith('num_batches_tracked'))
    converted = official_to_mmkd(old, 'resnet8')
    assert list(converted) == list(state)
    assert int(converted['backbone.bn1.num_batches_tracked']) == 0
    model.load_state_dict(converted)
    # Another number of classes is fine.
    ten = OrderedDict(official)
    ten['fc.weight'], ten['fc.bias'] = torch.zeros(10, 64), torch.zeros(10)
    assert official_to_mmkd(ten, 'resnet8')['head.fc.weight'].shape == (10,
                                                                        64)


# --------------------------------------------------------------------------
# 4. Bad input.
# --------------------------------------------------------------------------


@pytest.mark.parametrize('build, match', [
    (lambda: CIFARResNet('resnet9'), r"Unknown CIFARResNet arch 'resnet9'.*"
     r"'resnet110'.*'resnet8x4'"),
    (lambda: CIFARWideResNet(arch='wrn_28_10'), r"'wrn_16_1'.*'wrn_40_2'"),
    (lambda: CIFARWideResNet(), 'either arch'),
    (lambda: CIFARWideResNet(depth=15, widen_factor=1), '6n \\+ 4'),
    (lambda: CIFARWideResNet(arch='wrn_40_2', depth=16), 'depth 40'),
    (lambda: CIFARVGG('vgg12'), r"'vgg11'.*'vgg13'"),
    (lambda: CIFARResNetV2('resnet34'), r"\['resnet18', 'resnet50'\]"),
    (lambda: CIFARMobileNetV2(widen_factor=0), 'widen_factor'),
    (lambda: CIFARResNet('resnet20', out_indices=(3, )), 'out_indices'),
    (lambda: CIFARShuffleNetV2(out_indices=()), 'out_indices'),
])
def test_bad_backbone_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def _official_keys(arch):
    """An official-key state dict of ``arch`` (meta tensors)."""
    return mmkd_to_official(_classifier(arch, 'meta').state_dict(), arch)


def test_unknown_arch_in_the_mapping():
    for fn in (official_to_mmkd, mmkd_to_official):
        with pytest.raises(ValueError, match=r"'resnet9'.*'ShuffleV1'"):
            fn({}, 'resnet9')
    with pytest.raises(ValueError, match='Unknown CIFAR arch'):
        cifar_classifier_cfg('wrn_28_10')


def test_state_dict_of_another_arch():
    with pytest.raises(ValueError) as err:
        official_to_mmkd(_official_keys('resnet8'), 'resnet14')
    msg = str(err.value)
    assert "'resnet14'" in msg and 'missing keys' in msg
    assert 'layer1.1.conv1.weight' in msg and 'unexpected' not in msg

    with pytest.raises(ValueError) as err:
        official_to_mmkd(_official_keys('resnet8x4'), 'resnet8')
    msg = str(err.value)
    assert 'unexpected keys' in msg and 'layer1.0.downsample.0.weight' in msg
    assert 'shape mismatches' in msg and 'conv1.weight: got (32, 3, 3, 3)' \
        in msg

    with pytest.raises(ValueError, match=r"'ShuffleV2'.*missing keys.*"
                       r'layer1\.0\.conv4\.weight.*shape mismatches \['
                       r'layer1\.0\.conv1\.weight: got \(54, 24, 1, 1\)'):
        official_to_mmkd(_official_keys('ShuffleV1'), 'ShuffleV2')

    with pytest.raises(ValueError, match=r"'wrn_40_1'.*unexpected keys \["
                       r'block1\.layer\.0\.convShortcut\.weight'):
        official_to_mmkd(_official_keys('wrn_40_2'), 'wrn_40_1')

    # mmkd keys given to the official side, and the other way round.
    mmkd_state = _classifier('vgg8', 'meta').state_dict()
    with pytest.raises(ValueError, match=r"official 'vgg8'.*missing keys.*"
                       r'unexpected keys \[backbone\.block0\.0\.weight'):
        official_to_mmkd(mmkd_state, 'vgg8')
    with pytest.raises(ValueError, match=r"mmkd ImageClassifier 'vgg8'.*"
                       r'unexpected keys \[block0\.0\.weight'):
        mmkd_to_official(_official_keys('vgg8'), 'vgg8')
    stray = OrderedDict(mmkd_state)
    stray['neck.extra'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r'unexpected keys \[neck\.extra\]'):
        mmkd_to_official(stray, 'vgg8')

    # A head of the wrong width.
    wrong = OrderedDict(_official_keys('resnet8'))
    wrong['fc.weight'] = torch.zeros(100, 256)
    with pytest.raises(ValueError, match=r'fc\.weight: got \(100, 256\), '
                       r'expected \(100, 64\)'):
        official_to_mmkd(wrong, 'resnet8')
    with pytest.raises(TypeError, match='state dict'):
        official_to_mmkd([1, 2], 'resnet8')
