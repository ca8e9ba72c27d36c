"""Each loss against values computed by hand, and the direction each side pushes."""

from __future__ import annotations

import math

import pytest
import torch

from gansweep.gan import LOSSES
from gansweep.gan.losses import Loss

REAL = torch.tensor([0.0, 1.0])
FAKE = torch.tensor([-1.0, 3.0])


def sp(t: float) -> float:
    return math.log1p(math.exp(t))


def sig(t: float) -> float:
    return 1 / (1 + math.exp(-t))


EXPECTED = {
    # name: (d(REAL, FAKE), g(FAKE))
    "ns": ((sp(0) + sp(-1)) / 2 + (sp(-1) + sp(3)) / 2, (sp(1) + sp(-3)) / 2),
    "mm": ((sp(0) + sp(-1)) / 2 + (sp(-1) + sp(3)) / 2, -(sp(-1) + sp(3)) / 2),
    "wgan": (1.0 - 0.5, -1.0),
    "ls": (
        0.5 * (((sig(0) - 1) ** 2 + (sig(1) - 1) ** 2) / 2 + (sig(-1) ** 2 + sig(3) ** 2) / 2),
        0.5 * ((sig(-1) - 1) ** 2 + (sig(3) - 1) ** 2) / 2,
    ),
    "hinge": ((1.0 + 0.0) / 2 + (0.0 + 4.0) / 2, -1.0),
}


def test_registry_has_the_study_losses():
    assert LOSSES.names() == sorted(EXPECTED)
    assert all(isinstance(LOSSES[n], Loss) for n in LOSSES.names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loss_values(name):
    loss = LOSSES[name]
    d, g = EXPECTED[name]
    assert loss.d(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert loss.g(FAKE).item() == pytest.approx(g, rel=1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_directions(name):
    """D gains by raising real logits and lowering fake ones; G by raising fake logits."""
    loss = LOSSES[name]
    real = torch.tensor([0.3, -0.2], requires_grad=True)
    fake = torch.tensor([0.1, -0.4], requires_grad=True)
    loss.d(real, fake).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()
    fake_g = torch.tensor([0.1, -0.4], requires_grad=True)
    loss.g(fake_g).backward()
    assert (fake_g.grad < 0).all()


def test_mm_saturates_where_ns_does_not():
    """For a confident D (very negative fake logits) the minimax G gradient vanishes."""
    fake = torch.tensor([-10.0], requires_grad=True)
    LOSSES["mm"].g(fake).backward()
    mm = fake.grad.abs().item()
    fake.grad = None
    LOSSES["ns"].g(fake).backward()
    assert mm < 1e-3 < fake.grad.abs().item()
