"""Discriminator normalizations: SN's σ and gradient, its once-per-step cost, WN, the factory."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gansweep.gan import NORMS, GANConfig, GANTrainer
from gansweep.gan.norms import SpectralNorm, Translated, WeightNorm, _DivideBySigma, weight_step

from .helpers import TINY, images


def test_registry_has_the_study_normalizations():
    assert NORMS.names() == ["bn", "ln", "none", "sn", "wn"]


@pytest.mark.parametrize("arch", ["dcgan", "sndcgan"])
def test_sn_weights_have_unit_spectral_norm_after_training(arch):
    """One iteration per step tracks σ while the weights move slowly relative to the spectral gap.

    Gaussian-initialised kernels have nearly equal top singular values, so at lr 2e-4 the first
    hundred steps of a tiny net can leave the estimate 5-15 % low (as with torch's SN, the same
    algorithm); at lr 1e-5 it stays within 3 %.
    """
    cfg = GANConfig(arch, normalization="sn", lr=1e-5, **{**TINY, "width": 4})
    trainer = GANTrainer(cfg, images(16, n=32))
    trainer.train(30)
    layers = [m for m in trainer.D.modules() if isinstance(m, SpectralNorm)]
    assert len(layers) >= 5
    for m in layers:
        top = torch.linalg.svdvals(m.weight().detach().flatten(1))[0].item()
        assert top == pytest.approx(1.0, abs=0.03), m.layer


def test_sn_gradient_is_the_gradient_through_sigma():
    """The hand-written backward equals autograd through W / (uᵀWv) with u, v fixed."""
    g = torch.Generator().manual_seed(0)
    w = torch.randn(5, 3, 2, 2, generator=g, dtype=torch.float64, requires_grad=True)
    u = F.normalize(torch.randn(5, generator=g, dtype=torch.float64), dim=0)
    v = F.normalize(torch.randn(12, generator=g, dtype=torch.float64), dim=0)
    upstream = torch.randn(5, 3, 2, 2, generator=g, dtype=torch.float64)
    reference = w / torch.dot(u, w.flatten(1) @ v)
    (expected,) = torch.autograd.grad((reference * upstream).sum(), w)
    sigma = torch.dot(u, w.detach().flatten(1) @ v)
    ours = _DivideBySigma.apply(w, u, v, sigma)
    (got,) = torch.autograd.grad((ours * upstream).sum(), w)
    torch.testing.assert_close(ours, reference)
    torch.testing.assert_close(got, expected)


def test_sn_power_iteration_converges_to_the_top_singular_value():
    layer = SpectralNorm(nn.Linear(6, 4))
    for _ in range(100):
        layer.power_iteration()
    expected = torch.linalg.svdvals(layer.layer.weight.detach())[0]
    assert layer.sigma.item() == pytest.approx(expected.item(), rel=1e-5)
    layer.eval()  # eval recomputes uᵀWv from the stored vectors: the same value
    assert layer.current_sigma().item() == pytest.approx(expected.item(), rel=1e-5)


def test_sn_state_is_in_the_state_dict():
    keys = SpectralNorm(nn.Conv2d(2, 3, 3)).state_dict().keys()
    assert {"u", "v", "sigma", "layer.weight", "layer.bias"} <= set(keys)


def test_one_power_iteration_per_optimizer_step(monkeypatch):
    calls = []
    original = SpectralNorm.power_iteration
    monkeypatch.setattr(SpectralNorm, "power_iteration", lambda self: (calls.append(self), original(self)))
    trainer = GANTrainer(GANConfig("dcgan", normalization="sn", n_disc=2, **TINY), images(16))
    layers = [m for m in trainer.D.modules() if isinstance(m, SpectralNorm)]
    calls.clear()
    trainer.train(3)
    assert len(calls) == 3 * 2 * len(layers)


def test_weights_are_normalised_once_per_step_and_reused(monkeypatch):
    """Inside a step every forward (here: D and a gradient penalty's) shares one weight tensor."""
    count = []
    original = SpectralNorm.compute_weight
    monkeypatch.setattr(SpectralNorm, "compute_weight", lambda self: (count.append(1), original(self))[1])
    layer = SpectralNorm(nn.Linear(3, 2))
    x = torch.randn(4, 3)
    with weight_step([layer]):
        a, b = layer(x), layer(x + 1)
        assert layer.weight() is layer.weight()
        (a.sum() + b.sum()).backward()
    assert len(count) == 1
    layer(x)
    layer(x)
    assert len(count) == 3  # outside a step: computed per forward


@pytest.mark.parametrize("affine", [False, True])
def test_wn_reparametrisation(affine):
    conv = nn.Conv2d(3, 4, 3)
    wn = WeightNorm(conv, affine=affine)
    w = wn.weight().detach()
    norms = w.flatten(1).norm(dim=1)
    if affine:
        with torch.no_grad():
            wn.gain.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        norms = wn.weight().detach().flatten(1).norm(dim=1)
        torch.testing.assert_close(norms, torch.tensor([1.0, 2.0, 3.0, 4.0]))
        assert conv.bias is not None
    else:
        torch.testing.assert_close(norms, torch.ones(4))
        assert conv.bias is None  # strict: the translated activation replaces the bias
    x = torch.randn(2, 3, 5, 5)
    before = wn(x)
    with torch.no_grad():
        conv.weight.mul_(torch.tensor([0.5, 2.0, 3.0, 7.0]).view(4, 1, 1, 1))
    torch.testing.assert_close(wn(x), before)  # invariant to the scale of v
    torch.testing.assert_close(before, F.conv2d(x, wn.weight(), conv.bias))


def test_translated_activation():
    act = Translated(2, nn.ReLU())
    with torch.no_grad():
        act.alpha.copy_(torch.tensor([1.0, -1.0]))
    x = torch.tensor([[0.5, 0.5], [2.0, -2.0]])
    torch.testing.assert_close(act(x), torch.tensor([[1.0, 0.5], [2.0, -1.0]]))


def test_factory_hooks():
    assert isinstance(NORMS["bn"].feature(4), nn.BatchNorm2d)
    assert isinstance(NORMS["bn"].feature(4, 1), nn.BatchNorm1d)
    ln = NORMS["ln"].feature(4)
    assert isinstance(ln, nn.GroupNorm) and ln.num_groups == 1
    assert isinstance(NORMS["sn"].layer(nn.Linear(2, 2)), SpectralNorm)
    assert isinstance(NORMS["wn"].act(3, nn.ReLU()), Translated)
    for name in ("none", "bn", "ln"):
        lin = nn.Linear(2, 2)
        assert NORMS[name].layer(lin) is lin
    assert isinstance(NORMS["none"].feature(3), nn.Identity)
