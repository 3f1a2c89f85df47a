# Copyright (c) OpenMMLab. All rights reserved.
"""Tests of the Gaussian W2 primitive against POT's Bures distance."""
import ot
import pytest
import torch

from mmkd.losses import gaussian_wasserstein, psd_sqrtm

DOUBLE = dict(dtype=torch.float64)


def random_spd(batch, dim, seed=0, rank=None):
    gen = torch.Generator().manual_seed(seed)
    factor = torch.randn(batch, dim, rank or dim, generator=gen, **DOUBLE)
    spd = factor @ factor.transpose(-1, -2)
    if rank is None:
        spd = spd + 0.1 * torch.eye(dim, **DOUBLE)
    return spd


def pot_w2(mean_s, cov_s, mean_t, cov_t):
    """W2^2 per item; POT returns W (a square root), so square it."""
    return torch.stack([
        ot.gaussian.bures_wasserstein_distance(mean_s[i], mean_t[i],
                                               cov_s[i], cov_t[i]).reshape(
                                                   ()) ** 2
        for i in range(mean_s.shape[0])
    ])


def test_diag_equals_pot_bures():
    gen = torch.Generator().manual_seed(0)
    mean_s, mean_t = torch.randn(2, 5, 7, generator=gen, **DOUBLE)
    var_s, var_t = torch.rand(2, 5, 7, generator=gen, **DOUBLE) + 0.05
    ours = gaussian_wasserstein(mean_s, var_s, mean_t, var_t)
    ref = pot_w2(mean_s, torch.diag_embed(var_s), mean_t,
                 torch.diag_embed(var_t))
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)


def test_full_equals_pot_bures_on_random_spd():
    gen = torch.Generator().manual_seed(1)
    mean_s, mean_t = torch.randn(2, 6, 5, generator=gen, **DOUBLE)
    cov_s, cov_t = random_spd(6, 5, seed=2), random_spd(6, 5, seed=3)
    ours = gaussian_wasserstein(mean_s, cov_s, mean_t, cov_t,
                                covariance='full')
    ref = pot_w2(mean_s, cov_s, mean_t, cov_t)
    torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-10)
    # Batch dimensions are kept.
    assert gaussian_wasserstein(
        mean_s.view(2, 3, 5), cov_s.view(2, 3, 5, 5), mean_t.view(2, 3, 5),
        cov_t.view(2, 3, 5, 5), covariance='full').shape == (2, 3)


def test_full_reduces_to_diag_on_diagonal_covariances():
    gen = torch.Generator().manual_seed(4)
    mean_s, mean_t = torch.randn(2, 3, 4, generator=gen, **DOUBLE)
    var_s, var_t = torch.rand(2, 3, 4, generator=gen, **DOUBLE) + 0.1
    torch.testing.assert_close(
        gaussian_wasserstein(mean_s, torch.diag_embed(var_s), mean_t,
                             torch.diag_embed(var_t), covariance='full'),
        gaussian_wasserstein(mean_s, var_s, mean_t, var_t))


def test_full_gradient_matches_autograd_through_eigh():

    def eigh_sqrtm(matrix):
        evals, evecs = torch.linalg.eigh(matrix)
        return (evecs * evals.sqrt()[..., None, :]) @ evecs.transpose(-1, -2)

    cov_s = random_spd(3, 4, seed=5).requires_grad_()
    cov_t = random_spd(3, 4, seed=6).requires_grad_()
    mean = torch.zeros(3, 4, **DOUBLE)
    ours = gaussian_wasserstein(
        mean, cov_s, mean, cov_t, covariance='full').sum()
    root_t = eigh_sqrtm(cov_t)
    cross = eigh_sqrtm(root_t @ cov_s @ root_t)
    ref = (cov_s + cov_t - 2 * cross).diagonal(dim1=-2, dim2=-1).sum()
    grads = torch.autograd.grad(ours, [cov_s, cov_t])
    ref_grads = torch.autograd.grad(ref, [cov_s, cov_t])
    for grad, ref_grad in zip(grads, ref_grads):
        torch.testing.assert_close(grad, ref_grad, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize('rank', [None, 3])
def test_identical_inputs_zero_and_finite_gradient(rank):
    cov = random_spd(2, 6, seed=7, rank=rank)
    mean = torch.randn(2, 6, **DOUBLE)
    cov_s = cov.clone().requires_grad_()
    cov_t = cov.clone().requires_grad_()
    mean_s = mean.clone().requires_grad_()
    value = gaussian_wasserstein(mean_s, cov_s, mean, cov_t,
                                 covariance='full')
    assert (value >= 0).all()
    assert value.abs().max() < 1e-9
    grads = torch.autograd.grad(value.sum(), [cov_s, cov_t, mean_s])
    assert all(torch.isfinite(g).all() for g in grads)
    assert grads[2].abs().max() == 0
    if rank is None:
        # Positive definite: W2^2 has a minimum there, gradient 0.
        assert grads[0].abs().max() < 1e-8
        assert grads[1].abs().max() < 1e-8
    else:
        # Rank-deficient: the one-sided derivative towards the null space
        # is 1 (W2^2 between N(0, S + t e e^T) and N(0, S) is t for e in
        # the null space), i.e. the gradient is the null-space projector.
        evals, evecs = torch.linalg.eigh(cov)
        null = evecs[..., :6 - rank]
        projector = null @ null.transpose(-1, -2)
        torch.testing.assert_close(grads[0], projector, rtol=0, atol=1e-6)


def test_full_never_negative_near_identical():
    cov = random_spd(8, 5, seed=8)
    noisy = cov + 1e-13 * random_spd(8, 5, seed=9)
    mean = torch.zeros(8, 5, **DOUBLE)
    value = gaussian_wasserstein(mean, noisy, mean, cov, covariance='full')
    assert (value >= 0).all()
    single = gaussian_wasserstein(mean.float(), cov.float(), mean.float(),
                                  cov.float(), covariance='full')
    assert single.dtype == torch.float32 and (single >= 0).all()


def test_psd_sqrtm_square_and_gradcheck():
    spd = random_spd(2, 4, seed=10)
    root = psd_sqrtm(spd)
    torch.testing.assert_close(root @ root, spd, rtol=1e-10, atol=1e-10)
    singular = random_spd(1, 4, seed=11, rank=2)
    root = psd_sqrtm(singular)
    torch.testing.assert_close(root @ root, singular, rtol=0, atol=1e-10)
    factor = torch.randn(4, 4, **DOUBLE, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda f: psd_sqrtm(f @ f.t() + torch.eye(4, **DOUBLE)), (factor, ))


def test_errors():
    mean = torch.zeros(2, 3)
    with pytest.raises(ValueError,
                       match=r"covariance must be one of \('diag', 'full'\), "
                       r"but got 'spherical'"):
        gaussian_wasserstein(mean, mean, mean, mean, covariance='spherical')
    with pytest.raises(ValueError, match=r'student mean has shape \(2, 3\) '
                       r'but teacher mean has \(2, 4\).*projector'):
        gaussian_wasserstein(mean, mean, torch.zeros(2, 4), mean)
    with pytest.raises(ValueError, match=r'cov_s must hold covariance '
                       r'matrices \(\.\.\., C, C\) of shape \(2, 3, 3\)'):
        gaussian_wasserstein(mean, mean, mean, torch.zeros(2, 3, 3),
                             covariance='full')
