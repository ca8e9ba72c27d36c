"""IS, KID, precision/recall, MS-SSIM and recon on features/images with known answers."""

import math

import numpy as np
import pytest
import torch

from gansweep.data.base import Dataset
from gansweep.metrics import Evaluator
from gansweep.metrics.is_kid import inception_score, kernel_inception_distance, kid_subset_indices
from gansweep.metrics.msssim import levels_for, mean_pairwise_msssim, ms_ssim
from gansweep.metrics.prd import precision_recall
from gansweep.metrics.recon import reconstruction_error


def test_is_uniform_predictions_is_one():
    mean, std = inception_score(torch.zeros(100, 10), splits=10)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


def test_is_confident_one_hot_predictions_is_class_count():
    labels = torch.arange(1000) % 10
    logits = torch.full((1000, 10), -1e4)
    logits[torch.arange(1000), labels] = 0.0
    mean, _ = inception_score(logits, splits=1, shuffle=False)
    assert mean == pytest.approx(10.0, rel=1e-9)
    # one class only: collapsed, score 1
    assert inception_score(logits[labels == 0], splits=2)[0] == pytest.approx(1.0)


def kid_direct(x, y):
    """The unbiased MMD² written out pair by pair."""
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_matches_direct_formula():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((30, 5)), rng.standard_normal((25, 5)) + 0.3
    subsets, size = 4, 12
    mean, std = kernel_inception_distance(torch.from_numpy(x), torch.from_numpy(y), subsets, size, chunk=3)
    i1, i2 = kid_subset_indices(30, 25, subsets, size)
    direct = [kid_direct(x[a], y[b]) for a, b in zip(i1, i2)]
    assert mean == pytest.approx(np.mean(direct), rel=1e-10)
    assert std == pytest.approx(np.std(direct), rel=1e-8)


def test_kid_same_distribution_near_zero():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    same, _ = kernel_inception_distance(x, y, subsets=10, subset_size=200)
    other, _ = kernel_inception_distance(x, y + 1, subsets=10, subset_size=200)
    assert abs(same) < 0.05 * other
    with pytest.raises(ValueError, match="subset size"):
        kernel_inception_distance(x, y, subsets=1, subset_size=401)


def test_precision_recall_identical_and_disjoint():
    x = torch.randn(200, 4, generator=torch.Generator().manual_seed(0))
    assert precision_recall(x, x) == (1.0, 1.0)
    assert precision_recall(x, x + 100.0) == (0.0, 0.0)
    # generated covers half of the real support: precise but half the recall
    real = torch.cat([x, x + 100.0])
    p, r = precision_recall(x, real)
    assert p == 1.0 and r == pytest.approx(0.5)


def test_msssim_self_is_one_and_levels():
    g = torch.Generator().manual_seed(0)
    for size in (8, 16, 32, 64):
        x = torch.rand(4, 3, size, size, generator=g)
        assert torch.allclose(ms_ssim(x, x), torch.ones(4, dtype=torch.float64))
    assert [levels_for(s) for s in (4, 8, 16, 32, 64, 256)] == [1, 2, 3, 4, 5, 5]
    a, b = torch.rand(4, 1, 16, 16, generator=g), torch.rand(4, 1, 16, 16, generator=g)
    assert (ms_ssim(a, b) < 0.5).all()


def test_mean_pairwise_msssim_collapse_vs_diverse():
    g = torch.Generator().manual_seed(0)
    one = torch.rand(1, 1, 16, 16, generator=g) * 2 - 1
    assert mean_pairwise_msssim(one.repeat(20, 1, 1, 1), 10, torch.Generator().manual_seed(0)) == pytest.approx(1.0)
    diverse = torch.rand(20, 1, 16, 16, generator=g) * 2 - 1
    assert mean_pairwise_msssim(diverse, 10, torch.Generator().manual_seed(0)) < 0.3


class LinearGen(torch.nn.Module):
    def __init__(self, w):
        super().__init__()
        self.lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
        self.lin.weight.data.copy_(w)
        self.bn = torch.nn.BatchNorm1d(w.shape[0], affine=False, momentum=0.5)
        self.bn.eval()

    def forward(self, z):
        return self.lin(z)


def test_recon_reaches_points_in_range_and_not_outside():
    g = torch.Generator().manual_seed(0)
    gen = LinearGen(torch.eye(2))  # G(z) = z can reach anything
    targets = torch.randn(16, 2, generator=g)
    z0 = torch.zeros(16, 2)
    assert reconstruction_error(gen, targets, z0, steps=300, lr=0.05) < 1e-3
    flat = LinearGen(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))  # drops the second coordinate
    err = reconstruction_error(flat, targets, z0, steps=300, lr=0.05)
    assert err == pytest.approx(float((targets[:, 1] ** 2).mean() / 2), rel=0.05)
    assert flat.lin.weight.requires_grad


def test_evaluator_msssim_and_recon(fixed_trainer, metrics_cache):
    g = torch.Generator().manual_seed(0)
    test = torch.rand(8, 2, generator=g)
    ds = Dataset(name="tiny-points", train=test, test=test)
    trainer = fixed_trainer(torch.randn(50, 2))
    trainer.generator = LinearGen(torch.eye(2))
    ev = Evaluator(ds, ["recon"], samples=50, cache_dir=metrics_cache,
                   options={"recon_steps": 300, "recon_lr": 0.05, "recon_images": 8})
    assert ev(trainer)["recon"] < 1e-3
    trainer.cfg.num_classes = 10
    assert math.isnan(ev(trainer)["recon"])

    imgs = Dataset(name="tiny-images", train=torch.zeros(4, 1, 16, 16), test=torch.zeros(4, 1, 16, 16))
    one = torch.rand(1, 1, 16, 16, generator=g) * 2 - 1
    ev = Evaluator(imgs, ["msssim"], samples=40, cache_dir=metrics_cache, options={"msssim_pairs": 20})
    assert ev(fixed_trainer(one.repeat(40, 1, 1, 1)))["msssim"] == pytest.approx(1.0)
    assert ev(fixed_trainer(torch.rand(40, 1, 16, 16, generator=g) * 2 - 1))["msssim"] < 0.3
