# Copyright (c) OpenMMLab. All rights reserved.
"""Connectors: shapes, what they compute, and their errors."""
import pytest
import torch
import torch.nn as nn

from mmkd.models import BottleneckProjector, ConvConnector, LinearConnector


def test_conv_connector_is_a_1x1_conv():
    conn = ConvConnector(4, 6)
    x = torch.randn(2, 4, 3, 5)
    expected = torch.einsum('oc,nchw->nohw', conn.conv.weight[:, :, 0, 0],
                            x) + conn.conv.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(conn(x), expected)


def test_bottleneck_projector_shape_and_final_relu():
    proj = BottleneckProjector(4, 6, mid_channels=8)
    out = proj(torch.randn(2, 4, 5, 5))
    assert out.shape == (2, 6, 5, 5) and float(out.detach().min()) >= 0


def test_bottleneck_projector_is_the_official_conv_reg_bottleneck():
    # WKD's ConvRegBottleNeck: relu(bn(conv1x1(conv3x3(conv1x1(x))))), the
    # convolutions biased and nothing between them (docs/methods.md section 2)
    import torch.nn.functional as F
    proj = BottleneckProjector(4, 6, mid_channels=8).eval()
    c1, c2, c3, bn = proj.layers[0], proj.layers[3], proj.layers[6], \
        proj.layers[7]
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 4, 5, 5)
    y = F.conv2d(x, c1.weight, c1.bias)
    y = F.conv2d(y, c2.weight, c2.bias, padding=1)
    y = F.conv2d(y, c3.weight, c3.bias)
    y = F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                     eps=bn.eps)
    torch.testing.assert_close(proj(x), torch.relu(y))
    assert c1.bias is not None and c2.bias is not None and c3.bias is None


def test_bottleneck_projector_inner_norm_and_act_are_opt_in():
    proj = BottleneckProjector(4, 6, mid_channels=8, mid_norm='BN',
                               mid_act='ReLU')
    kinds = [type(m).__name__ for m in proj.layers]
    assert kinds == [
        'Conv2d', 'BatchNorm2d', 'ReLU', 'Conv2d', 'BatchNorm2d', 'ReLU',
        'Conv2d', 'BatchNorm2d', 'ReLU'
    ]
    assert proj.layers[0].bias is None  # absorbed by the BN after it
    with pytest.raises(ValueError, match="mid_norm must be one of None"):
        BottleneckProjector(4, 6, mid_norm='LN')
    with pytest.raises(ValueError, match="mid_act must be None or 'ReLU'"):
        BottleneckProjector(4, 6, mid_act='GELU')


def test_linear_connector_is_an_affine_map_then_norm_and_act():
    conn = LinearConnector(5, 3)
    x = torch.randn(7, 5)
    torch.testing.assert_close(conn(x), x @ conn.fc.weight.t() + conn.fc.bias)
    bn = LinearConnector(5, 3, norm='BN', act='ReLU').train()
    out = bn(x)
    assert out.shape == (7, 3) and float(out.detach().min()) >= 0
    assert bn.fc.bias is None
    # BN in train mode: per-channel zero mean before the ReLU
    pre = bn.norm(bn.fc(x))
    torch.testing.assert_close(pre.mean(0), torch.zeros(3), atol=1e-5,
                               rtol=0)


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=0, out_channels=3), 'in_channels must be a positive'),
    (dict(in_channels=4, out_channels=3, norm='GN'), "None or 'BN'"),
    (dict(in_channels=4, out_channels=3, act='GELU'), "None or 'ReLU'"),
])
def test_linear_connector_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LinearConnector(**kwargs)


def test_linear_connector_refuses_feature_maps():
    with pytest.raises(ValueError, match='mmkd.ConvConnector'):
        LinearConnector(4, 3)(torch.randn(2, 4, 3, 3))


@pytest.mark.parametrize('s_size, t_size, layer, kernel', [
    (8, 8, 'Conv2d', (1, 1)),  # resnet32x4 -> resnet8x4
    (4, 8, 'ConvTranspose2d', (4, 4)),  # wrn_40_2 -> ShuffleV1
    (8, 4, 'Conv2d', (3, 3)),  # stride 2
    (6, 4, 'Conv2d', (3, 3)),  # (1 + s - t)
    ((6, 5), (4, 4), 'Conv2d', (3, 2)),
])
def test_convreg_picks_the_official_layer(s_size, t_size, layer, kernel):
    from mmkd.models import ConvRegConnector
    torch.manual_seed(0)
    proj = ConvRegConnector(16, 8, s_size, t_size)
    assert type(proj.conv).__name__ == layer
    assert proj.conv.kernel_size == kernel and proj.conv.bias is not None
    s = (s_size, s_size) if isinstance(s_size, int) else s_size
    t = (t_size, t_size) if isinstance(t_size, int) else t_size
    x = torch.randn(2, 16, *s)
    out = proj(x)
    assert out.shape == (2, 8, *t)
    # conv, then BN, then ReLU (the official order)
    expected = torch.relu(proj.bn(proj.conv(x)))
    torch.testing.assert_close(out, expected)
    stride = 2 if (layer == 'ConvTranspose2d' or s[0] == 2 * t[0]) else 1
    assert proj.conv.stride == (stride, stride)


def test_convreg_without_bn_relu_and_bad_sizes():
    from mmkd.models import ConvRegConnector
    proj = ConvRegConnector(4, 4, 8, 8, norm=False)
    assert isinstance(proj.bn, nn.Identity) and isinstance(
        proj.relu, nn.Identity)
    with pytest.raises(ValueError, match=r'student map of \(3, 3\) to a '
                       r'teacher map of \(8, 8\)'):
        ConvRegConnector(4, 4, 3, 8)
    with pytest.raises(ValueError, match='in_size must be'):
        ConvRegConnector(4, 4, (1, 2, 3), 8)
