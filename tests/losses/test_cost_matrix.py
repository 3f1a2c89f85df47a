# Copyright (c) OpenMMLab. All rights reserved.
"""Tests of CKA and the category-interrelation cost matrices."""
import time

import pytest
import torch

from mmkd.losses import (cka_cost_matrix, cka_similarity_matrix,
                         class_centroid_cosine, classifier_weight_cosine,
                         cost_matrix_from_similarity, linear_cka,
                         sharpen_cost)

DOUBLE = dict(dtype=torch.float64)


def hsic_cka(x, y):
    """Kernel form: HSIC(K, L) = tr(K H L H), K = X X^T, by explicit H."""
    b = x.shape[0]
    h = torch.eye(b, **DOUBLE) - torch.full((b, b), 1 / b, **DOUBLE)
    k, l_ = x @ x.t(), y @ y.t()

    def hsic(p, q):
        return torch.trace(p @ h @ q @ h)

    return hsic(k, l_) / torch.sqrt(hsic(k, k) * hsic(l_, l_))


def random_features(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, **DOUBLE)


@pytest.mark.parametrize('b,d1,d2', [(10, 4, 6), (6, 20, 30)])
def test_linear_cka_equals_hsic_form(b, d1, d2):
    x = random_features(b, d1, seed=1)
    y = x[:, :min(d1, d2)] @ random_features(min(d1, d2), d2, seed=2)
    y = y + random_features(b, d2, seed=3)
    torch.testing.assert_close(linear_cka(x, y), hsic_cka(x, y))
    torch.testing.assert_close(linear_cka(x, x), torch.tensor(1., **DOUBLE))


def test_linear_cka_invariances():
    x = random_features(12, 5, seed=4)
    y = random_features(12, 7, seed=5) + x @ random_features(5, 7, seed=6)
    base = linear_cka(x, y)
    q, _ = torch.linalg.qr(random_features(5, 5, seed=7))
    torch.testing.assert_close(linear_cka(x @ q, y), base)
    torch.testing.assert_close(linear_cka(3.7 * x, 0.2 * y), base)
    # Not invariant to a general (anisotropic) linear map.
    skew = torch.diag(torch.tensor([10., 1., 1., 1., 0.1], **DOUBLE))
    assert (linear_cka(x @ skew, y) - base).abs() > 1e-3


def test_cka_similarity_matrix_matches_pairwise_loop():
    feats = random_features(6, 9, 4, seed=8)
    feats[2] = feats[1] @ random_features(4, 4, seed=9)  # related classes
    sim = cka_similarity_matrix(feats)
    for i in range(6):
        for j in range(6):
            torch.testing.assert_close(sim[i, j], hsic_cka(feats[i],
                                                           feats[j]))
    cost = cka_cost_matrix(feats, kappa=2.0)
    expected = 1 - torch.exp(-2.0 * (1 - sim))
    expected.fill_diagonal_(0)
    torch.testing.assert_close(cost, expected)
    assert torch.equal(cost, cost.t())
    assert torch.equal(cost.diagonal(), torch.zeros(6, **DOUBLE))
    assert cost.min() >= 0


def test_many_rows_per_class_use_the_feature_space_form():
    """Every position of CIFAR maps (32000 rows per class) cannot form b x b
    Gram matrices: above 4096 rows the (d x d) cross products give the same
    CKA, without centring the second class (its mean cancels)."""
    feats = random_features(3, 4100, 5, seed=3) + 2.0  # non-zero means
    feats[2] = feats[0] @ random_features(5, 5, seed=4)
    sim = cka_similarity_matrix(feats)
    for i in range(3):
        for j in range(3):
            xi = feats[i] - feats[i].mean(0)
            xj = feats[j] - feats[j].mean(0)
            hsic = (xj.t() @ xi).square().sum()
            expected = hsic / (torch.linalg.matrix_norm(xi.t() @ xi) *
                               torch.linalg.matrix_norm(xj.t() @ xj))
            torch.testing.assert_close(sim[i, j], expected)
    assert float(sim[0, 2]) > float(sim[0, 1])  # the related class


def test_cka_cost_matrix_1000_classes_is_fast():
    feats = torch.randn(1000, 16, 64)
    start = time.perf_counter()
    cost = cka_cost_matrix(feats)
    elapsed = time.perf_counter() - start
    assert cost.shape == (1000, 1000) and torch.isfinite(cost).all()
    assert elapsed < 20, f'{elapsed:.1f} s for n = 1000'


def test_constant_class_features_stay_finite():
    feats = random_features(3, 5, 4, seed=10)
    feats[1] = 1.0
    cost = cka_cost_matrix(feats)
    assert torch.isfinite(cost).all()
    assert cost.diagonal().abs().max() == 0


def test_cosine_alternatives():
    feats = random_features(4, 7, 3, seed=11)
    centroids = feats.mean(1)
    sim = class_centroid_cosine(feats)
    manual = torch.tensor([[
        torch.dot(centroids[i], centroids[j]) /
        (centroids[i].norm() * centroids[j].norm()) for j in range(4)
    ] for i in range(4)], **DOUBLE)
    torch.testing.assert_close(sim, manual)
    torch.testing.assert_close(class_centroid_cosine(centroids), manual)
    weight = random_features(5, 8, seed=12)
    wsim = classifier_weight_cosine(weight)
    unit = weight / weight.norm(dim=1, keepdim=True)
    torch.testing.assert_close(wsim, unit @ unit.t())
    cost = cost_matrix_from_similarity(wsim, kappa=0.5)
    expected = 1 - torch.exp(-0.5 * (1 - unit @ unit.t()))
    expected.fill_diagonal_(0)
    torch.testing.assert_close(cost, expected)


@pytest.mark.parametrize('teacher', ['resnet32x4', 'wrn_40_2'])
def test_sharpen_official_cifar_matrix(teacher, official_cost_matrix):
    """The official code's transformation, C = 1 - exp(-kappa (1 - CKA))
    (mdistiller/distillers/WKD.py), off the diagonal; the diagonal is 0."""
    path = official_cost_matrix(f'cifar100/{teacher}_linear_cka.pth')
    raw = torch.load(path, map_location='cpu', weights_only=True)
    for kappa in (1.0, 2.0):
        cost = sharpen_cost(raw, kappa)
        assert cost.shape == (100, 100)
        off = ~torch.eye(100, dtype=torch.bool)
        torch.testing.assert_close(cost[off],
                                   1 - torch.exp(-kappa * raw[off]))
        assert torch.equal(cost.diagonal(), torch.zeros(100))
        torch.testing.assert_close(cost, cost.t())


def test_errors():
    with pytest.raises(ValueError, match=r'square \[n, n\].*\(3, 4\)'):
        sharpen_cost(torch.zeros(3, 4))
    with pytest.raises(ValueError, match='kappa must be > 0'):
        sharpen_cost(torch.zeros(3, 3), kappa=0)
    with pytest.raises(ValueError, match=r'sim must be a square'):
        cost_matrix_from_similarity(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r'\(n_classes, b, d\)'):
        cka_cost_matrix(torch.zeros(4, 5))
    with pytest.raises(ValueError, match='same number of rows'):
        linear_cka(torch.zeros(4, 2), torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r'\(n_classes, d\)'):
        classifier_weight_cosine(torch.zeros(4))
    with pytest.raises(ValueError, match=r'\(n, b, d\) or'):
        class_centroid_cosine(torch.zeros(4))
