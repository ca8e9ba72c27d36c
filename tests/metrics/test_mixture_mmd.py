"""``mmd``, the mixtures' primary: exact, deterministic, and ranking sample sets as they look.

The hand-made sets are what a trained GAN on a mixture shows: perfect samples; a sharp generator
that drops 2 modes; a smeared cloud over all modes (each mode 10× too wide, ~4 % high quality);
one Gaussian blob with the data's mean and covariance; every sample on one mode. Perfect must be
best and the blob and the collapse worst, at every seed with margin. FD fails that (a blob is a
perfect fit of one Gaussian): the reason ``mmd`` replaced it as the default primary.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gansweep.data import load_dataset
from gansweep.data.points import MIXTURES, mixture_split
from gansweep.metrics import Evaluator, default_primary
from gansweep.metrics.frechet import frechet_distance
from gansweep.metrics.mixtures import KERNEL_WIDTHS, KernelMMD, kernel_sums, mixture_mmd, mode_stats

N = 2000
SEEDS = range(3)


def hand_made(name: str, seed: int, n: int = N) -> dict[str, np.ndarray]:
    centers, std = MIXTURES[name][0](), MIXTURES[name][1]
    real = mixture_split(name, "test")[0]
    rng = np.random.default_rng(seed)
    label = rng.integers(len(centers), size=n)
    noise = rng.standard_normal((n, 2))
    return {
        "perfect": centers[label] + std * noise,
        "drop2": centers[rng.choice(np.arange(2, len(centers)), n)] + std * noise,
        "smeared": centers[label] + 10 * std * noise,
        "blob": rng.multivariate_normal(real.mean(0), np.cov(real.T), n),
        "collapse": centers[np.zeros(n, dtype=int)] + std * noise,
    }


def scores(name: str, seed: int) -> tuple[dict[str, float], dict[str, float]]:
    std = MIXTURES[name][1]
    real = mixture_split(name, "test")[0][:N]
    sets = hand_made(name, seed)
    mmd = {k: mixture_mmd(torch.as_tensor(x), torch.as_tensor(real), std) for k, x in sets.items()}
    fd = {k: frechet_distance(x.mean(0), np.cov(x.T), real.mean(0), np.cov(real.T)) for k, x in sets.items()}
    return mmd, fd


@pytest.mark.parametrize("seed", SEEDS)
def test_ring8_ranking_follows_the_samples(seed):
    mmd, fd = scores("ring8", seed)
    middle = max(mmd["drop2"], mmd["smeared"])
    assert 3 * mmd["perfect"] < min(mmd["drop2"], mmd["smeared"]), mmd
    assert middle < 0.95 * min(mmd["blob"], mmd["collapse"]), mmd
    # FD's flaw, the reason for the change: the blob scores like perfect samples, far better than drop2
    assert fd["blob"] < 0.1 * fd["drop2"] and fd["blob"] < 3 * fd["perfect"] + 0.01, fd


@pytest.mark.parametrize("seed", SEEDS)
def test_grid25_ranking_follows_the_samples(seed):
    mmd, _ = scores("grid25", seed)
    assert 1.5 * mmd["perfect"] < min(mmd["drop2"], mmd["smeared"]), mmd
    assert mmd["drop2"] < 0.5 * mmd["blob"] and max(mmd["drop2"], mmd["smeared"]) < mmd["collapse"], mmd
    assert mmd["collapse"] == max(mmd.values()), mmd


def test_the_hand_made_sets_are_what_they_say():
    centers, std = MIXTURES["ring8"][0](), MIXTURES["ring8"][1]
    stats = {k: mode_stats(torch.as_tensor(x), centers, std) for k, x in hand_made("ring8", 0).items()}
    assert stats["perfect"][0] == 8 and stats["perfect"][1] > 0.98
    assert stats["drop2"][0] == 6 and stats["drop2"][1] > 0.98
    assert stats["smeared"][0] == 8 and stats["smeared"][1] < 0.1
    assert stats["blob"][1] < 0.02 and stats["collapse"] == (1, pytest.approx(0.99, abs=0.01))


def brute_mmd(x: torch.Tensor, y: torch.Tensor, widths: list[float]) -> float:
    """MMD under the average of Gaussian kernels, written out with numpy over all pairs."""
    x, y = x.double().numpy(), y.double().numpy()

    def k(a, b):
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.mean([np.exp(-d2 / (2 * w * w)).mean() for w in widths])

    return max(float(k(x, x) + k(y, y) - 2 * k(x, y)), 0.0) ** 0.5


def test_kernel_mmd_equals_the_all_pairs_sum():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(300, 2, generator=g, dtype=torch.float64) * 2
    widths = [w * 0.02 for w in KERNEL_WIDTHS]
    for x in (torch.randn(170, 2, generator=g) * 3 + 1, y[:70] + 0.05, torch.zeros(65, 2),
              torch.cat([torch.randn(130, 2, generator=g), torch.full((3, 2), 40.0)])):
        for ws in (widths, [2.0]):
            assert KernelMMD(y, ws)(x) == pytest.approx(brute_mmd(x, y, ws), rel=1e-9, abs=1e-12)
    assert kernel_sums(y, y, widths) == pytest.approx(kernel_sums(y.flip(0), y, widths), rel=1e-12)


def test_kernel_mmd_is_a_distance_and_deterministic():
    y = torch.as_tensor(mixture_split("ring8", "test")[0][:500])
    widths = [0.06, 0.2, 0.6]
    mmd = KernelMMD(y, widths)
    assert mmd(y) == pytest.approx(0.0, abs=1e-6)
    x = y.flip(0) * 1.05
    assert mmd(x) == mmd(x.clone()) == pytest.approx(KernelMMD(y.flip(0), widths)(x), rel=1e-12)
    assert mmd(x) > 0.05 and KernelMMD(x, widths)(y) == pytest.approx(mmd(x), rel=1e-9)  # symmetric
    assert math.isnan(mmd(torch.cat([x, torch.tensor([[float("nan"), 0.0]])])))
    with pytest.raises(ValueError):
        mmd(torch.zeros(3, 3))
    with pytest.raises(ValueError):
        KernelMMD(y, [0.06, 0.0])


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_evaluator_reports_mmd_and_it_is_the_mixtures_default(name, fixed_trainer, metrics_cache):
    assert default_primary(name) == "mmd" and default_primary("digits") == "fd"
    ds = load_dataset(name)
    ev = Evaluator(ds, ["mmd", "fd", "modes", "hq"], samples=N, cache_dir=metrics_cache)
    sets = hand_made(name, 3)
    out = {k: ev(fixed_trainer(torch.as_tensor(x, dtype=torch.float32))) for k, x in sets.items()}
    assert list(out["perfect"]) == ["mmd", "fd", "modes", "hq"]
    real = ds.test[:N]
    assert out["drop2"]["mmd"] == pytest.approx(mixture_mmd(torch.as_tensor(sets["drop2"], dtype=torch.float32),
                                                            real, ds.info["std"]), rel=1e-9)
    ranked = sorted(out, key=lambda k: out[k]["mmd"])
    assert ranked[0] == "perfect" and ranked[-1] == "collapse", ranked
    nan = ev(fixed_trainer(torch.full((N, 2), float("nan"))))
    assert math.isnan(nan["mmd"]) and nan["modes"] == 0
