import numpy as np
import pytest
import scipy.linalg
import torch

from gansweep.metrics import frechet_distance, gaussian_statistics


def fd_scipy(mu1, s1, mu2, s2):
    """The classic TTUR/pytorch-fid formula with scipy's sqrtm of the product."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def random_cov(rng, d, eigs):
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (q * eigs) @ q.T


@pytest.mark.parametrize("d", [1, 8, 64])
def test_matches_scipy_on_random_covariances(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1 = random_cov(rng, d, rng.uniform(0.1, 3, d))
    s2 = random_cov(rng, d, rng.uniform(0.1, 3, d))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(fd_scipy(mu1, s1, mu2, s2), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("tiny", [1e-6, 1e-10])
def test_matches_scipy_near_singular(tiny):
    rng = np.random.default_rng(1)
    d = 32
    eigs = np.concatenate([rng.uniform(0.5, 2, d // 2), np.full(d // 2, tiny)])
    s1, s2 = random_cov(rng, d, eigs), random_cov(rng, d, eigs[::-1].copy())
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(fd_scipy(mu1, s1, mu2, s2), rel=1e-6)


def test_rank_deficient_sample_covariances():
    # fewer samples than dimensions, as with 2048-d Inception features and few samples
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((10, 40)), rng.standard_normal((12, 40)) + 0.5
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    ours = frechet_distance(x.mean(0), s1, y.mean(0), s2)
    assert np.isfinite(ours) and ours > 0
    assert ours == pytest.approx(fd_scipy(x.mean(0), s1, y.mean(0), s2), rel=1e-5)


def test_one_dimensional_closed_form():
    # W2² of two 1-d Gaussians: (m1 - m2)² + (s1 - s2)²
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-1.0]), np.array([[9.0]])) == pytest.approx(
        4.0 + 1.0
    )


def test_identical_is_zero_and_torch_inputs():
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.standard_normal((500, 16)))
    mu, sigma = gaussian_statistics(x)
    assert sigma.dtype == torch.float64
    np.testing.assert_allclose(sigma.numpy(), np.cov(x.numpy(), rowvar=False), rtol=1e-10)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8
    assert abs(frechet_distance(mu.float(), sigma, mu.numpy(), sigma.numpy())) < 1e-6


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_on_gpu_matches_cpu():
    rng = np.random.default_rng(4)
    d = 256
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = random_cov(rng, d, rng.uniform(0, 2, d)), random_cov(rng, d, rng.uniform(0, 2, d))
    cpu = frechet_distance(mu1, s1, mu2, s2)
    gpu = frechet_distance(*(torch.from_numpy(a).cuda() for a in (mu1, s1, mu2, s2)))
    assert gpu == pytest.approx(cpu, rel=1e-9)
