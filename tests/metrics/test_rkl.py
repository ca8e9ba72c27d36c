"""``rkl``: reverse KL of the high-quality samples' mode histogram to uniform (VEEGAN, PacGAN)."""

from __future__ import annotations

import math

import pytest
import torch

from gansweep.data import load_dataset
from gansweep.data.mixtures import sample_mixture
from gansweep.metrics import METRICS, Evaluator
from gansweep.metrics.mixtures import mode_histogram, reverse_kl


def test_reverse_kl_of_histograms():
    assert reverse_kl(torch.tensor([5, 5, 5, 5, 5, 5, 5, 5])) == pytest.approx(0.0)
    assert reverse_kl(torch.tensor([0, 9, 0, 0, 0, 0, 0, 0])) == pytest.approx(math.log(8))
    assert reverse_kl(torch.tensor([3, 3, 0, 0, 0, 0, 0, 0])) == pytest.approx(math.log(4))  # 2 of 8 modes
    q = torch.tensor([0.5, 0.25, 0.25, 0.0])  # Σ q log(4q) by hand
    expected = 0.5 * math.log(2.0) + 2 * 0.25 * math.log(1.0)
    assert reverse_kl(q * 100) == pytest.approx(expected)
    assert reverse_kl(torch.zeros(25, dtype=torch.long)) == pytest.approx(math.log(25))  # nothing good: worst


def test_the_histogram_counts_only_high_quality_points():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    pts = torch.tensor([[0.0, 0.1], [0.0, -0.2], [10.0, 0.29], [5.0, 5.0], [float("nan"), 0.0]])
    counts, hq = mode_histogram(pts, centers, std=0.1)
    assert counts.tolist() == [2, 1] and hq == pytest.approx(3 / 5)


def test_rkl_is_a_lower_is_better_metric_of_points():
    spec = METRICS["rkl"]
    assert not spec.higher_is_better and spec.kinds == {"points"}


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_evaluator_reports_rkl(name, fixed_trainer, metrics_cache):
    ds = load_dataset(name)
    centers, std = ds.info["centers"], ds.info["std"]
    k = len(centers)
    ev = Evaluator(ds, ["rkl", "modes", "hq"], samples=2500, cache_dir=metrics_cache)
    x, _ = sample_mixture(centers, std, 2500, seed=5)
    good = ev(fixed_trainer(torch.as_tensor(x, dtype=torch.float32)))
    assert list(good) == ["rkl", "modes", "hq"]
    assert good["rkl"] < 0.02 and good["modes"] == k
    # all the mass on half the modes, in equal shares: rkl = log 2 (less one mode's share for odd k)
    half = torch.as_tensor(centers[: k // 2], dtype=torch.float32).repeat(2500 // (k // 2) + 1, 1)[:2500]
    bad = ev(fixed_trainer(half + std * torch.randn(2500, 2)))
    assert bad["modes"] == k // 2
    assert bad["rkl"] == pytest.approx(math.log(k / (k // 2)), abs=0.02)
