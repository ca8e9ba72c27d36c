"""GANTrainer: checkpoints, divergence, optimizers and priors, sampling, EMA, truncation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gansweep.errors import GansweepError
from gansweep.gan import Diverged, GANConfig, GANTrainer
from gansweep.gan.ema import EMA
from gansweep.gan.regularizers import orthogonal_penalty, orthogonal_regularization
from gansweep.gan.sampler import resample_truncated

from .helpers import TINY, images, points

BIGGAN = {"ema_decay": 0.9, "ema_start": 2, "shared_dim": 4, "truncation": 1.0}


def params(trainer: GANTrainer) -> list[torch.Tensor]:
    nets = [trainer.G, trainer.D] + ([trainer.ema.module] if trainer.ema else [])
    return [t.detach().clone() for net in nets for t in list(net.parameters()) + list(net.buffers())]


@pytest.mark.parametrize(
    "arch,norm,penalty,options",
    [("dcgan", "sn", "gp", {}), ("biggan", "sn", "r1", BIGGAN), ("mlp", "wn", "dragan", {}),
     ("sndcgan", "sn", "gp", {"device_data_gb": 0.0, "check_every": 3, "adam": "foreach"})],
)
def test_checkpoint_continues_bit_for_bit(arch, norm, penalty, options):
    cfg = GANConfig(arch, normalization=norm, penalty=penalty, n_disc=2, options=options, **TINY)
    data = points() if arch == "mlp" else images(16, classes=3)
    a = GANTrainer(cfg, data, seed=1)
    a.train(5)
    state = a.state_dict()
    first = a.train(5)
    after = params(a)
    samples = a.sample(4)

    b = GANTrainer(cfg, data, seed=99)  # another seed: everything must come from the state
    b.load_state_dict(state)
    assert b.step == 5
    second = b.train(5)
    assert b.step == 10
    assert first == second
    for x, y in zip(after, params(b)):
        assert torch.equal(x, y)
    assert torch.equal(samples, b.sample(4))


def test_state_dict_is_a_snapshot():
    t = GANTrainer(GANConfig("mlp", **TINY), points())
    state = t.state_dict()
    w = state["G"]["net.0.weight"].clone()
    t.train(2)
    assert torch.equal(state["G"]["net.0.weight"], w)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_checkpoint_loaded_onto_the_gpu_restores(tmp_path):
    """A GPU trial loads its checkpoint with map_location="cuda": the random streams' states then
    lie on the GPU, and Generator.set_state takes CPU ByteTensors only."""
    a = GANTrainer(GANConfig("mlp", **TINY), points(), device="cuda", seed=1)
    a.train(2)
    torch.save(a.state_dict(), tmp_path / "trial.pt")
    b = GANTrainer(GANConfig("mlp", **TINY), points(), device="cuda", seed=2)
    b.load_state_dict(torch.load(tmp_path / "trial.pt", map_location="cuda", weights_only=True))
    assert torch.equal(b.sample(8), a.sample(8))


def test_non_finite_weights_raise_diverged():
    t = GANTrainer(GANConfig("mlp", **TINY), points())
    t.train(1)
    with torch.no_grad():
        next(t.D.parameters()).fill_(float("nan"))
    with pytest.raises(Diverged) as info:
        t.train(3)
    assert info.value.step == 4
    assert "non-finite" in info.value.reason


def test_divergence_is_checked_within_a_long_call():
    t = GANTrainer(GANConfig("mlp", lr=1e30, options={"check_every": 2}, **TINY), points())
    with pytest.raises(Diverged) as info:
        t.train(1000)
    assert info.value.step < 1000


def test_ttur_and_adam_settings():
    cfg = GANConfig("mlp", lr=3e-4, lr_g=1e-4, beta1=0.0, beta2=0.9, **TINY)
    t = GANTrainer(cfg, points())
    assert t.opt_d.param_groups[0]["lr"] == 3e-4
    assert t.opt_g.param_groups[0]["lr"] == 1e-4
    assert t.opt_g.param_groups[0]["betas"] == (0.0, 0.9)
    assert GANTrainer(GANConfig("mlp", lr=3e-4, **TINY), points()).opt_g.param_groups[0]["lr"] == 3e-4


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_priors(prior):
    t = GANTrainer(GANConfig("mlp", prior=prior, **{**TINY, "z_dim": 5}), points())
    z = t.draw_z(4000)
    assert z.shape == (4000, 5)
    if prior == "uniform":
        assert z.min() >= -1 and z.max() <= 1 and z.std().item() == pytest.approx(3**-0.5, rel=0.05)
    else:
        assert z.abs().max() > 1 and z.std().item() == pytest.approx(1.0, rel=0.05)


def test_sampling_is_eval_mode_without_grad_and_restores_training():
    t = GANTrainer(GANConfig("dcgan", **TINY), images(16))
    seen = []
    t.G.register_forward_hook(lambda m, i, o: seen.append((m.training, torch.is_grad_enabled())))
    x = t.sample(7, batch_size=3)
    assert x.shape == (7, 1, 16, 16) and not x.requires_grad
    assert seen == [(False, False)] * 3
    assert t.G.training


def test_sampling_does_not_change_what_training_sees():
    cfg = GANConfig("mlp", **TINY)
    a, b = GANTrainer(cfg, points()), GANTrainer(cfg, points())
    a.sample(10)
    a.draw_z(3)
    assert a.train(3) == b.train(3)


def test_truncation_resamples_only_out_of_range_values():
    g = torch.Generator().manual_seed(0)
    draw = lambda n: torch.randn(n, 6, generator=g)  # noqa: E731
    z = draw(500)
    out = resample_truncated(z, 0.5, draw)
    inside = z.abs() <= 0.5
    assert out.abs().max() <= 0.5
    assert torch.equal(out[inside], z[inside])
    assert (out[~inside] != z[~inside]).all()


def test_sample_uses_truncation_option():
    cfg = GANConfig("biggan", options={**BIGGAN, "truncation": 0.3}, **TINY)
    t = GANTrainer(cfg, images(16, classes=3))
    z = t.sampler._truncated_z(100)
    assert z.abs().max() <= 0.3
    assert t.sample(5).shape == (5, 1, 16, 16)


def test_ema_average_and_start():
    net = nn.Linear(2, 1)
    ema = EMA(net, decay=0.75, start=1)
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update(1)  # step <= start: copy
    assert torch.equal(ema.module.weight, net.weight)
    with torch.no_grad():
        net.weight.fill_(3.0)
    ema.update(2)
    torch.testing.assert_close(ema.module.weight, torch.full((1, 2), 0.75 * 1 + 0.25 * 3))
    assert not ema.module.weight.requires_grad


def test_trainer_samples_from_the_ema_generator():
    cfg = GANConfig("biggan", options={**BIGGAN, "ema_start": 0}, **TINY)
    t = GANTrainer(cfg, images(16, classes=3))
    assert t.generator is t.ema.module
    w0 = t.ema.module.fc.layer.weight.detach().clone()
    g0 = t.G.fc.layer.weight.detach().clone()
    t.train(1)
    expected = 0.9 * w0 + 0.1 * t.G.fc.layer.weight.detach()
    torch.testing.assert_close(t.ema.module.fc.layer.weight, expected)
    assert not torch.equal(t.G.fc.layer.weight, g0)
    assert GANTrainer(GANConfig("dcgan", **TINY), images(16)).generator.__class__.__name__ == "DCGANGenerator"


def test_orthogonal_regularisation():
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    assert orthogonal_penalty(q).item() == pytest.approx(0.0, abs=1e-20)
    # rows of any norm, pairwise orthogonal: still 0 (BigGAN's variant leaves norms free)
    assert orthogonal_penalty(torch.diag(torch.tensor([1.0, 2.0, 3.0]))).item() == 0.0
    conv = q[:4].reshape(4, 1, 3, 2)  # orthonormal filters of a conv kernel
    assert orthogonal_regularization([q, conv]).item() == pytest.approx(0.0, abs=1e-20)
    w = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    assert orthogonal_penalty(w).item() == 2.0  # off-diagonal entries of WWᵀ: 1 and 1


def test_singular_values():
    t = GANTrainer(GANConfig("sndcgan", **TINY), images(16))
    sv = t.singular_values()
    assert sv and all(k.startswith(("sv_g_", "sv_d_")) for k in sv)
    assert "sv_d_conv0" in sv and "sv_g_linear0" in sv
    w = t.D.convs[0].weight.detach().flatten(1)
    assert sv["sv_d_conv0"] == pytest.approx(torch.linalg.svdvals(w)[0].item(), rel=1e-5)


def test_labels_flow_into_a_conditional_gan():
    t = GANTrainer(GANConfig("biggan", options=BIGGAN, **TINY), images(16, classes=3))
    assert t.num_classes == 3 and t.D.num_classes == 3
    x = torch.rand(1, 1, 16, 16).expand(2, 1, 16, 16)
    with torch.no_grad():
        a = t.D(x, torch.tensor([0, 0]))
        b = t.D(x, torch.tensor([1, 2]))
    assert not torch.equal(a, b)  # the projection reads the label
    uncond = GANTrainer(GANConfig("biggan", options={**BIGGAN, "conditional": False}, **TINY), images(16, classes=3))
    assert uncond.num_classes == 0
    with pytest.raises(GansweepError, match="class labels"):
        GANTrainer(GANConfig("biggan", options={**BIGGAN, "conditional": True}, **TINY), images(16))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(architecture="dcgna"), "did you mean 'dcgan'"),
        (dict(architecture="dcgan", loss="hinj"), "did you mean 'hinge'"),
        (dict(architecture="dcgan", lr=0.0), "lr must be > 0"),
        (dict(architecture="dcgan", n_disc=0), "n_disc"),
        (dict(architecture="dcgan", prior="cauchy"), "prior"),
        (dict(architecture="dcgan", beta2=1.0), "beta2"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(GansweepError, match=match):
        GANConfig(**kwargs)


@pytest.mark.parametrize(
    "arch,options,match",
    [
        ("dcgan", {"attention_resolution": 8}, "unknown option"),
        ("biggan", {"skip_z": 1}, "must be bool"),
        ("biggan", {"attention_resolution": 5}, "attention_resolution"),
        ("biggan", {"ema_decay": 1.5}, "ema_decay"),
        ("resnet19", {"truncation": -1.0}, "truncation"),
    ],
)
def test_architectures_reject_bad_options(arch, options, match):
    with pytest.raises(GansweepError, match=match):
        GANTrainer(GANConfig(arch, options=options, **TINY), images(16))


def test_architectures_reject_bad_shapes():
    with pytest.raises(GansweepError, match="divisible by 16"):
        GANTrainer(GANConfig("dcgan", **TINY), images(24))
    with pytest.raises(GansweepError, match="points"):
        GANTrainer(GANConfig("mlp", **TINY), images(16))
