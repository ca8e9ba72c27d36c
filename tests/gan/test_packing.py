"""PacGAN's packing (every architecture), the mlp's maxout discriminator and batch-norm generator.

Packing (Lin et al., 2018): D scores m samples at once, concatenated along the first sample axis
(channels for images, coordinates for points); a step draws batch_size·m real and generated
samples; penalties differentiate through the packed input.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gansweep.errors import GansweepError
from gansweep.gan import ARCHITECTURES, LOSSES, NORMS, PENALTIES, GANConfig, GANTrainer
from gansweep.gan.archs.base import Packed
from gansweep.gan.archs.mlp import Maxout
from gansweep.gan.specs import resolve_options

from .helpers import SMOKE_RES, TINY, images, points

PACGAN = dict(depth=3, maxout=5, g_width=16, g_depth=4, g_norm="bn", init="normal")
"""PacGAN's mlp (Lin et al., 2018) at a test's width: D 3 × width maxout-5, G 4 × g_width BN-ReLU."""


def shape_of(arch: str) -> tuple[int, ...]:
    res = SMOKE_RES[arch]
    return (2,) if res is None else (3, res, res)


def first_input(net: nn.Module, x: torch.Tensor) -> tuple[int, ...]:
    """The shape of what the first linear/conv layer of ``net`` receives on ``net(x)``."""
    layer = next(m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    seen = []
    handle = layer.register_forward_pre_hook(lambda m, args: seen.append(tuple(args[0].shape)))
    try:
        net(x)
    finally:
        handle.remove()
    return seen[0]


@pytest.mark.parametrize("arch", ARCHITECTURES.names())
@pytest.mark.parametrize("m", [2, 3])
def test_every_architecture_packs_its_discriminator_input(arch, m):
    shape = shape_of(arch)
    cfg = GANConfig(arch, width=2, z_dim=8, pack=m)
    _, d = ARCHITECTURES[arch](cfg, shape, 0, NORMS["none"])
    assert isinstance(d, Packed) and d.m == m
    d.eval()
    x = torch.randn(4 * m, *shape)
    with torch.no_grad():
        assert d(x).shape == (4,)
        assert first_input(d.inner, d.pack(x)) == (4, m * shape[0], *shape[1:])


def test_a_pack_is_its_consecutive_samples_concatenated():
    d = Packed(nn.Identity(), 3)
    x = torch.arange(12.0).view(6, 2)
    assert torch.equal(d.pack(x), torch.cat([x[0::3], x[1::3], x[2::3]], dim=1))
    imgs = torch.randn(4, 3, 5, 5)
    d2 = Packed(nn.Identity(), 2)
    assert torch.equal(d2.pack(imgs), torch.cat([imgs[0::2], imgs[1::2]], dim=1))
    with pytest.raises(ValueError, match="multiple of 3"):
        d.pack(torch.zeros(4, 2))


def test_pack_1_is_no_packing():
    """pack 1 builds the very same discriminator and trains bit for bit as before packing existed."""
    for arch in ("mlp", "dcgan"):
        _, d = ARCHITECTURES[arch](GANConfig(arch, width=2, z_dim=8, pack=1), shape_of(arch), 0, NORMS["none"])
        assert not isinstance(d, Packed)
    data = points()
    runs = []
    for cfg in (GANConfig("mlp", **TINY), GANConfig("mlp", pack=1, **TINY)):
        trainer = GANTrainer(cfg, data, seed=3)
        runs.append((trainer.train(3), trainer.D.state_dict(), trainer.G.state_dict()))
    (out_a, d_a, g_a), (out_b, d_b, g_b) = runs
    assert out_a == out_b
    assert all(torch.equal(d_a[k], d_b[k]) for k in d_a) and d_a.keys() == d_b.keys()
    assert all(torch.equal(g_a[k], g_b[k]) for k in g_a)


def test_pack_must_be_a_positive_integer():
    with pytest.raises(GansweepError, match="pack must be an integer >= 1"):
        GANConfig("mlp", pack=0)


def test_a_step_draws_batch_size_times_pack_samples():
    m, batch = 3, 4
    trainer = GANTrainer(GANConfig("mlp", width=4, z_dim=8, batch_size=batch, pack=m), points())
    g_batches, d_inputs = [], []
    trainer.G.register_forward_pre_hook(lambda mod, args: g_batches.append(args[0].shape[0]))
    trainer.D.inner.register_forward_pre_hook(lambda mod, args: d_inputs.append(tuple(args[0].shape)))
    trainer.train(1)
    assert g_batches == [batch * m, batch * m]  # the D step's fakes, the G step's
    assert d_inputs == [(2 * batch, 2 * m), (batch, 2 * m)]  # real and fake packs; the G step's packs


@pytest.mark.parametrize("penalty", ["gp", "dragan", "r1"])
def test_input_gradient_penalties_see_the_packed_input(penalty):
    m, batch = 2, 4
    cfg = GANConfig("mlp", width=4, z_dim=8, batch_size=batch, pack=m, penalty=penalty, penalty_weight=1.0)
    trainer = GANTrainer(cfg, points())
    seen = []
    trainer.D.inner.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    trainer.train(1)
    grads = [x for x in seen if x.requires_grad and x.grad_fn is None]  # the penalty's leaf inputs
    assert [tuple(x.shape) for x in grads] == [(batch, 2 * m)]


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
@pytest.mark.parametrize("loss", LOSSES.names())
@pytest.mark.parametrize("penalty", PENALTIES.names())
def test_every_loss_and_penalty_trains_packed(arch, loss, penalty):
    data = points() if SMOKE_RES[arch] is None else images(SMOKE_RES[arch], n=8)
    cfg = GANConfig(arch, loss=loss, penalty=penalty, pack=2, **TINY)
    trainer = GANTrainer(cfg, data)
    before = [p.detach().clone() for p in trainer.D.parameters()]
    out = trainer.train(1)
    assert all(math.isfinite(v) for v in out.values())
    assert (out["penalty"] == 0.0) == (penalty == "none")
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.D.parameters()))
    assert trainer.sample(5).shape[0] == 5  # sampling is per sample, whatever the packing


def test_a_conditional_discriminator_cannot_be_packed():
    cfg = GANConfig("resnet_cifar", width=2, z_dim=8, pack=2, options={"conditional": True})
    with pytest.raises(GansweepError, match="pack > 1 needs an unconditional discriminator"):
        ARCHITECTURES["resnet_cifar"](cfg, (3, 16, 16), 10, NORMS["none"])


# -- the mlp's PacGAN options --------------------------------------------------------------


def test_maxout_takes_the_max_of_each_units_pieces():
    x = torch.tensor([[1.0, 5.0, 2.0, -1.0, -3.0, -2.0]])
    assert torch.equal(Maxout(3)(x), torch.tensor([[5.0, -1.0]]))


def test_pacgan_mlp_layers():
    cfg = GANConfig("mlp", width=8, z_dim=2, options=PACGAN)
    g, d = ARCHITECTURES["mlp"](cfg, (2,), 0, NORMS["none"])
    g_linear = [m for m in g.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in g_linear] == [(2, 16)] + [(16, 16)] * 3 + [(16, 2)]
    assert [m.bias is None for m in g_linear] == [True] * 4 + [False]  # BN cancels a hidden bias
    assert sum(isinstance(m, nn.BatchNorm1d) for m in g.modules()) == 4
    d_linear = [m for m in d.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in d_linear] == [(2, 40), (8, 40), (8, 40), (8, 1)]
    assert sum(isinstance(m, Maxout) for m in d.modules()) == 3
    assert not any(isinstance(m, nn.LeakyReLU) for m in d.modules())
    stds = [m.weight.std().item() for m in g_linear + d_linear]
    assert all(0.01 < s < 0.03 for s in stds)  # init: normal → N(0, 0.02²)


def test_default_mlp_is_unchanged():
    g, d = ARCHITECTURES["mlp"](GANConfig("mlp", width=8, z_dim=4), (2,), 0, NORMS["none"])
    assert not any(isinstance(m, (nn.BatchNorm1d, Maxout)) for m in list(g.modules()) + list(d.modules()))
    assert [type(m) for m in g.net] == [nn.Linear, nn.ReLU] * 3 + [nn.Linear]
    assert sum(isinstance(m, nn.LeakyReLU) for m in d.modules()) == 3


@pytest.mark.parametrize("norm", NORMS.names())
def test_maxout_discriminator_trains_with_every_normalization(norm):
    cfg = GANConfig("mlp", normalization=norm, pack=2, options=PACGAN, **TINY)
    out = GANTrainer(cfg, points()).train(2)
    assert all(math.isfinite(v) for v in out.values())


@pytest.mark.parametrize("options, pattern", [
    ({"maxout": 1}, "'maxout' must be 0 .* or a number of pieces >= 2"),
    ({"g_norm": "ln"}, "'g_norm' must be one of none, bn"),
    ({"g_depth": 0}, "'g_depth' must be None or an integer >= 1"),
    ({"g_width": 2.5}, "'g_width' must be None or an integer >= 1"),
    ({"init": "he"}, "'init' must be one of default, normal, xavier"),
    ({"depth": 0}, "'depth' must be >= 1"),
])
def test_mlp_options_are_checked(options, pattern):
    with pytest.raises(GansweepError, match=pattern):
        resolve_options("mlp", options)


def test_the_pacgan_options_are_mlp_options_only():
    with pytest.raises(GansweepError, match="unknown option.*'maxout'"):
        resolve_options("dcgan", {"maxout": 5})
