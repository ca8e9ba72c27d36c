"""Penalties against finite differences and their definitions."""

from __future__ import annotations

import pytest
import torch

from gansweep.gan import PENALTIES
from gansweep.gan.penalties import NORM_EPS

from .helpers import TinyD

N, DIM = 4, 3


def fd_gradients(d: TinyD, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Central finite differences of D at each row of x, one coordinate at a time."""
    grads = torch.zeros_like(x)
    with torch.no_grad():
        for j in range(x.shape[1]):
            e = torch.zeros_like(x)
            e[:, j] = h
            grads[:, j] = (d(x + e) - d(x - e)) / (2 * h)
    return grads


def data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, DIM, generator=g, dtype=torch.float64), torch.randn(N, DIM, generator=g, dtype=torch.float64)


def test_registry_has_the_study_penalties():
    assert PENALTIES.names() == ["dragan", "gp", "l2", "none", "r1"]


def test_gp_matches_finite_differences():
    d, (real, fake) = TinyD(DIM), data()
    weight = 10.0
    value = PENALTIES["gp"](d, real, fake, None, weight, generator=torch.Generator().manual_seed(7))
    alpha = torch.rand((N, 1), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    x_hat = real + alpha * (fake - real)
    norms = (NORM_EPS + fd_gradients(d, x_hat).square().sum(1)).sqrt()
    expected = weight * (norms - 1).square().mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)


def test_r1_matches_finite_differences():
    d, (real, fake) = TinyD(DIM), data()
    gamma = 3.0
    value = PENALTIES["r1"](d, real, fake, None, gamma)
    expected = gamma / 2 * fd_gradients(d, real).square().sum(1).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)


def test_dragan_matches_finite_differences_at_perturbed_data():
    d, (real, fake) = TinyD(DIM), data()
    value = PENALTIES["dragan"](d, real, fake, None, 2.0, generator=torch.Generator().manual_seed(3))
    u = torch.rand((N, DIM), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    noisy = real + real.std(unbiased=False) * (u - 0.5)  # points: no clipping
    norms = (NORM_EPS + fd_gradients(d, noisy).square().sum(1)).sqrt()
    assert value.item() == pytest.approx(2.0 * (norms - 1).square().mean().item(), rel=1e-6)


def test_dragan_clips_images_to_the_data_range():
    seen = []

    def d(x, labels=None):
        seen.append(x.detach())
        return x.flatten(1).sum(1)

    real = torch.ones(2, 1, 4, 4)
    PENALTIES["dragan"](d, real * 0.99, real, None, 1.0, generator=torch.Generator().manual_seed(0))
    assert seen[0].max() <= 1.0 and seen[0].min() >= -1.0


def test_l2_is_half_the_squared_norm_of_the_kernels_averaged_over_layers():
    d = TinyD(DIM)
    w1, w2 = d.net[0].weight, d.net[2].weight
    expected = 0.7 * (0.5 * w1.square().sum() + 0.5 * w2.square().sum()) / 2
    value = PENALTIES["l2"](d, *data(), None, 0.7)
    assert value.item() == pytest.approx(expected.item(), rel=1e-9)


def test_none_is_zero():
    assert PENALTIES["none"](TinyD(DIM), *data(), None, 5.0).item() == 0.0


@pytest.mark.parametrize("name", ["gp", "dragan", "l2", "r1"])
def test_penalties_train_the_discriminator_and_scale_with_the_weight(name):
    d, (real, fake) = TinyD(DIM), data()
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    one = PENALTIES[name](d, real, fake, None, 1.0, generator=gen())
    three = PENALTIES[name](d, real, fake, None, 3.0, generator=gen())
    assert three.item() == pytest.approx(3 * one.item(), rel=1e-9)
    three.backward()
    assert d.net[0].weight.grad.abs().sum() > 0
