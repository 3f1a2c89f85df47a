# Copyright (c) OpenMMLab. All rights reserved.
"""Connectors: shapes, what they compute, and their errors."""
import pytest
import torch

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
