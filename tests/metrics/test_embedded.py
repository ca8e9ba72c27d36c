"""fd / modes / hq on the embedded data sets, the digits classifier and the reference cache."""

import shutil

import numpy as np
import pytest
import torch

from gansweep.data import load_dataset
from gansweep.data.mixtures import sample_mixture
from gansweep.metrics import Evaluator, digits_classifier
from gansweep.metrics import evaluator as evaluator_module
from gansweep.metrics import digits_net
from gansweep.metrics.mixtures import mode_stats


@pytest.fixture(scope="module")
def ring8():
    return load_dataset("ring8")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def exact_samples(ds, n, seed=7):
    x, _ = sample_mixture(ds.info["centers"], ds.info["std"], n, seed=seed)
    return torch.as_tensor(x, dtype=torch.float32)


def test_mode_stats_exact_vs_collapsed(ring8):
    centers, std = ring8.info["centers"], ring8.info["std"]
    modes, hq = mode_stats(exact_samples(ring8, 2000), centers, std)
    assert modes == 8
    assert hq > 0.98  # P(|x| <= 3 std) for a 2-d Gaussian is 1 - exp(-4.5) = 0.989
    collapsed = torch.as_tensor(centers[[3]], dtype=torch.float32).repeat(500, 1)
    assert mode_stats(collapsed, centers, std) == (1, 1.0)
    far = torch.full((100, 2), 50.0)
    assert mode_stats(far, centers, std) == (0, 0.0)
    nan = torch.full((10, 2), float("nan"))
    assert mode_stats(nan, centers, std) == (0, 0.0)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_mixture_evaluator_exact_vs_collapsed(name, fixed_trainer, metrics_cache):
    ds = load_dataset(name)
    k = len(ds.info["centers"])
    ev = Evaluator(ds, ["fd", "modes", "hq", "precision", "recall"], samples=2000, cache_dir=metrics_cache)
    good = ev(fixed_trainer(exact_samples(ds, 2000)))
    assert good["modes"] == k and good["hq"] > 0.98
    assert good["fd"] < 0.02
    assert good["precision"] > 0.9 and good["recall"] > 0.9
    centers = torch.as_tensor(ds.info["centers"], dtype=torch.float32)
    collapsed = centers[:2].repeat(1000, 1) + ds.info["std"] * torch.randn(2000, 2)
    bad = ev(fixed_trainer(collapsed))
    assert bad["modes"] == 2 and bad["hq"] > 0.98
    assert bad["fd"] > 1.0
    assert bad["recall"] < 0.5 and bad["precision"] > 0.9
    assert list(bad) == ["fd", "modes", "hq", "precision", "recall"]


def test_digits_classifier_accurate_cached_and_deterministic(metrics_cache, tmp_path):
    model, acc = digits_classifier(16, metrics_cache)
    assert acc > 0.9
    again, acc2 = digits_classifier(16, metrics_cache)  # from the cache
    assert acc2 == acc
    # determinism: two trainings from scratch (at 8×8, the cheapest) give identical weights
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    one, acc8 = digits_classifier(8, tmp_path / "a")
    assert torch.equal(torch.rand(3), expected), "training must not touch the global RNG"
    two, acc8b = digits_classifier(8, tmp_path / "b")
    assert acc8 == acc8b and acc8 > 0.9
    for (n1, p1), (n2, p2) in zip(one.state_dict().items(), two.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2)


def test_digits_fd(digits, fixed_trainer, metrics_cache):
    ev = Evaluator(digits, ["fd"], samples=297, cache_dir=metrics_cache)
    assert ev.info["digits_classifier_accuracy"] > 0.9
    same = ev(fixed_trainer(digits.test))["fd"]
    train = ev(fixed_trainer(digits.train[:297]))["fd"]
    one_class = ev(fixed_trainer(digits.train[digits.train_labels == 3][:100]))["fd"]
    noise = ev(fixed_trainer(torch.rand(297, 1, 16, 16) * 2 - 1))["fd"]
    assert abs(same) < 1e-4 * train
    assert 10 * train < min(one_class, noise)
    assert np.isnan(ev(fixed_trainer(torch.full((297, 1, 16, 16), float("nan"))))["fd"])


def test_reference_cache_hit_does_not_recompute(digits, fixed_trainer, tmp_path, monkeypatch, metrics_cache):
    digits_classifier(16, metrics_cache)
    shutil.copytree(metrics_cache / "digits_classifier", tmp_path / "digits_classifier")
    ev = Evaluator(digits, ["fd"], samples=200, cache_dir=tmp_path)
    first = ev(fixed_trainer(digits.train[:200]))["fd"]
    files = sorted(p.name for p in (tmp_path / "reference").iterdir())
    assert len(files) == 1 and not any(name.endswith(".tmp") for name in files)

    def boom(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(evaluator_module, "extract", boom)
    monkeypatch.setattr(digits_net, "train_digits_classifier", boom)
    ev2 = Evaluator(digits, ["fd"], samples=200, cache_dir=tmp_path)
    assert ev2(fixed_trainer(digits.train[:200]))["fd"] == first
    # a different sample count is a different reference: it is computed, not read
    with pytest.raises(AssertionError, match="recomputed"):
        Evaluator(digits, ["fd"], samples=100, cache_dir=tmp_path)


def test_sampling_in_batches(ring8, fixed_trainer, metrics_cache):
    trainer = fixed_trainer(exact_samples(ring8, 1000))
    Evaluator(ring8, ["fd"], samples=1000, cache_dir=metrics_cache, options={"batch_size": 300})(trainer)
    assert trainer.calls == 4


def test_construction_checks(ring8, digits, metrics_cache):
    from gansweep.errors import GansweepError

    with pytest.raises(GansweepError, match="applies to image"):
        Evaluator(ring8, ["msssim"], samples=10, cache_dir=metrics_cache)
    with pytest.raises(GansweepError, match="is splits"):
        Evaluator(digits, ["is"], samples=5, cache_dir=metrics_cache)
    with pytest.raises(GansweepError, match="unknown metrics option"):
        Evaluator(ring8, ["fd"], samples=10, cache_dir=metrics_cache, options={"bach_size": 3})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_evaluator_on_gpu_matches_cpu(ring8, fixed_trainer, metrics_cache):
    x = exact_samples(ring8, 1000)
    cpu = Evaluator(ring8, ["fd", "modes", "hq"], samples=1000, cache_dir=metrics_cache)(fixed_trainer(x))
    gpu = Evaluator(ring8, ["fd", "modes", "hq"], samples=1000, device="cuda", cache_dir=metrics_cache)(
        fixed_trainer(x.cuda()))
    assert gpu == pytest.approx(cpu, rel=1e-6)
