"""The trainer's speed-ups give the plain path's numbers: bit-exact where only syncs or placement
change, within rounding where kernels change (fused Adam, compiled objectives)."""

from __future__ import annotations

import pytest
import torch

from gansweep.errors import GansweepError
from gansweep.gan import Diverged, GANConfig, GANTrainer
from gansweep.gan.speed import Speedups

from .helpers import TINY, images

PLAIN = {"check_every": 1, "adam": "loop"}
"""What a naive loop does: a host sync every step, per-parameter Adam."""


def trained(options: dict, steps: int = 3, **kw) -> tuple[GANTrainer, dict[str, float]]:
    cfg = GANConfig("sndcgan", normalization="sn", penalty="gp", n_disc=2, options=options, **{**TINY, **kw})
    t = GANTrainer(cfg, images(16), seed=3)
    return t, t.train(steps)


def weights(t: GANTrainer) -> list[torch.Tensor]:
    return [p.detach() for net in (t.G, t.D) for p in list(net.parameters()) + list(net.buffers())]


def test_batched_divergence_checks_change_nothing_but_syncs():
    a, la = trained({"check_every": 1}, steps=7)
    b, lb = trained({"check_every": 50}, steps=7)
    assert la == lb
    assert all(torch.equal(x, y) for x, y in zip(weights(a), weights(b)))


def test_foreach_adam_is_the_reference_loop_bit_for_bit():
    a, la = trained(PLAIN)
    b, lb = trained({"check_every": 1, "adam": "foreach"})
    assert la == lb
    assert all(torch.equal(x, y) for x, y in zip(weights(a), weights(b)))


def test_fused_adam_agrees_with_the_reference_loop_up_to_rounding():
    """Compared as whole networks: a conv bias right before batch norm has a zero gradient up to
    rounding noise, which Adam scales to full-size steps, so it alone may differ elementwise."""
    a, la = trained(PLAIN)
    b, lb = trained({"check_every": 1, "adam": "fused"})
    assert la == pytest.approx(lb, rel=1e-6)
    flat_a, flat_b = (torch.cat([w.flatten() for w in weights(t)]) for t in (a, b))
    assert (flat_a - flat_b).norm() <= 1e-5 * flat_a.norm()


def test_compiled_objectives_match_eager():
    """Graph capture and AOT autograd (the ``aot_eager`` backend: no code generation, fast on CPU)."""
    a, la = trained({})
    b, lb = trained({"compile": True, "compile_backend": "aot_eager"})
    assert la == pytest.approx(lb, rel=1e-6, abs=1e-7)
    for x, y in zip(weights(a), weights(b)):
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-7)


def test_a_host_held_data_set_trains_like_a_device_held_one():
    """Another index stream (a host generator), the same training: finite losses, data untouched."""
    t, losses = trained({"device_data_gb": 0.0})
    assert t.data_rng is not None and t.x.device.type == "cpu"
    assert all(torch.isfinite(torch.tensor(list(losses.values()))))
    assert trained({})[0].data_rng is None


@pytest.mark.parametrize("every,noticed", [(1, 6), (4, 8)])
def test_divergence_is_noticed_at_most_k_minus_1_steps_late(every, noticed):
    cfg = GANConfig("sndcgan", options={"check_every": every}, **TINY)
    t = GANTrainer(cfg, images(16))

    def poison(module, inputs):  # during generator step 6, a discriminator weight turns NaN
        if t.step == 5:
            with torch.no_grad():
                next(t.D.parameters()).fill_(float("nan"))

    t.G.register_forward_pre_hook(poison)
    with pytest.raises(Diverged) as info:
        t.train(20)
    assert info.value.step == noticed


def test_cuda_flags_are_set_for_a_call_and_restored():
    cudnn = torch.backends.cudnn
    before = cudnn.benchmark, cudnn.allow_tf32, torch.get_float32_matmul_precision()
    with Speedups(cudnn_benchmark=True, tf32=True).cuda_flags(torch.device("cuda")):
        assert cudnn.benchmark and cudnn.allow_tf32 and torch.get_float32_matmul_precision() == "high"
    assert (cudnn.benchmark, cudnn.allow_tf32, torch.get_float32_matmul_precision()) == before
    with Speedups(tf32=False).cuda_flags(torch.device("cpu")):  # nothing off CUDA
        assert (cudnn.benchmark, cudnn.allow_tf32, torch.get_float32_matmul_precision()) == before


@pytest.mark.parametrize(
    "options,match",
    [
        ({"check_every": 0}, "check_every"),
        ({"adam": "sgd"}, "adam"),
        ({"compile": 1}, "must be bool"),
        ({"compile_mode": "fast"}, "compile_mode"),
        ({"device_data_gb": -1.0}, "device_data_gb"),
    ],
)
def test_speed_options_are_checked(options, match):
    with pytest.raises(GansweepError, match=match):
        GANTrainer(GANConfig("sndcgan", options=options, **TINY), images(16))
