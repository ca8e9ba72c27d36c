"""Normalizations of the discriminator, passed to the architectures as a factory.

An architecture never branches on the normalization's name. It builds each layer and hands it to
the :class:`Norm` of the study:

- ``norm.layer(module, last=False)`` wraps a linear, convolutional or embedding layer (SN, WN);
- ``norm.feature(channels, ndim)`` is the layer placed after a hidden layer (BN, LN);
- ``norm.act(channels, fn)`` wraps the activation that follows (WN's translated activation).

Reparametrised weights (SN, WN) are computed once per training step, not once per forward: inside
:func:`weight_step` the first forward of each layer caches its normalised weight and every other
forward of that step (e.g. the gradient-penalty interpolates) reuses it. SN runs its single power
iteration once per optimizer step (:func:`power_iteration`) and otherwise only divides by the
stored σ, with a hand-written gradient. ``torch.nn.utils.spectral_norm`` instead iterates and
renormalises on every forward, which made an SNDCGAN step about 45 % slower than no
normalization on an H100 (issue 4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gansweep.gan.specs import NORM_SPECS
from gansweep.registry import Registry

EPS = 1e-12


class Reparametrized(nn.Module):
    """A linear, conv or embedding layer whose weight is a function of its raw ``layer.weight``."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        if not isinstance(layer, (nn.Linear, nn.Conv2d, nn.Embedding)):
            raise TypeError(f"cannot reparametrise {type(layer).__name__}")
        self.layer = layer
        self._caching = False
        self._cached: Tensor | None = None

    def compute_weight(self) -> Tensor:
        raise NotImplementedError

    def begin_step(self) -> None:
        """Cache the weight at its first use until :meth:`end_step`."""
        self._caching, self._cached = True, None

    def end_step(self) -> None:
        self._caching, self._cached = False, None

    def weight(self) -> Tensor:
        """The effective weight: cached inside a step, computed afresh outside one."""
        if self._cached is not None:
            return self._cached
        w = self.compute_weight()
        if self._caching:
            self._cached = w
        return w

    def forward(self, x: Tensor) -> Tensor:
        layer, w = self.layer, self.weight()
        if isinstance(layer, nn.Conv2d):
            return layer._conv_forward(x, w, layer.bias)
        if isinstance(layer, nn.Linear):
            return F.linear(x, w, layer.bias)
        return F.embedding(x, w)


class _DivideBySigma(torch.autograd.Function):
    """W/σ(W) with σ(W) = uᵀWv for fixed u, v, given σ's value: one kernel forward.

    Backward: ∇_W = G/σ − (⟨G, W⟩/σ²)·u vᵀ, the exact gradient through σ (Miyato et al., 2018,
    Eq. 12), in a handful of fused kernels instead of autograd's chain through mv, dot and div.
    """

    @staticmethod
    def forward(ctx, w: Tensor, u: Tensor, v: Tensor, sigma: Tensor) -> Tensor:
        ctx.save_for_backward(w, u, v, sigma)
        return w / sigma

    @staticmethod
    def backward(ctx, grad: Tensor):
        w, u, v, sigma = ctx.saved_tensors
        g2 = grad.reshape(w.shape[0], -1)
        c = torch.dot(g2.reshape(-1), w.reshape(-1)) / sigma  # ⟨G, W⟩/σ
        gw = torch.addr(g2, u * c, v, alpha=-1.0) / sigma  # (G − c·u vᵀ)/σ
        return gw.view_as(w), None, None, None


class SpectralNorm(Reparametrized):
    """W_SN = W / σ(W), σ estimated by power iteration with persistent vectors u, v.

    Miyato et al., 2018, "Spectral Normalization for GANs" (Alg. 1): per training step one
    iteration v ← Wᵀu/‖Wᵀu‖, u ← Wv/‖Wv‖ on the kernel reshaped to (out, in·k·k), then
    σ = uᵀWv = ‖Wv‖, with u and v held constant in the gradient.

    The iteration runs once per optimizer step of the wrapped weight (:func:`power_iteration`,
    called by the trainer right after the step), not in every forward: in training mode forwards
    only divide by the stored σ. In eval mode σ = uᵀWv is recomputed from the stored vectors, so a
    copy with other weights (the generator's EMA) is normalised by its own σ.
    """

    def __init__(self, layer: nn.Module) -> None:
        super().__init__(layer)
        w = layer.weight.detach().flatten(1)
        self.register_buffer("u", F.normalize(torch.randn(w.shape[0]), dim=0, eps=EPS))
        self.register_buffer("v", F.normalize(w.t() @ self.u, dim=0, eps=EPS))
        self.register_buffer("sigma", torch.ones(()))
        self.power_iteration()

    @torch.no_grad()
    def power_iteration(self) -> None:
        """One step of the power method and the new σ, written in place into the buffers.

        Call it after an optimizer step, never between a forward and its backward (autograd
        would refuse the changed u, v).
        """
        w = self.layer.weight.flatten(1)
        v = torch.mv(w.t(), self.u)
        torch.div(v, torch.linalg.vector_norm(v).clamp_min_(EPS), out=self.v)
        wv = torch.mv(w, self.v)
        torch.linalg.vector_norm(wv, out=self.sigma).clamp_min_(EPS)
        torch.div(wv, self.sigma, out=self.u)

    def current_sigma(self) -> Tensor:
        """The σ forwards divide by: stored in training, uᵀWv from the stored u, v in eval."""
        if self.training:
            return self.sigma
        with torch.no_grad():
            return torch.dot(self.u, self.layer.weight.flatten(1) @ self.v).clamp_min(EPS)

    def compute_weight(self) -> Tensor:
        w, sigma = self.layer.weight, self.current_sigma()
        if torch.is_grad_enabled() and w.requires_grad:
            return _DivideBySigma.apply(w, self.u, self.v, sigma)
        return w / sigma


class WeightNorm(Reparametrized):
    """w = v/‖v‖ per output unit ("strict"), or γ·v/‖v‖ + β ("affine", the last layer).

    Salimans & Kingma, 2016, in the form of Xiang & Li, 2017, "On the Effects of Batch and Weight
    Normalization in GANs": hidden layers are strict (no gain, no bias: the bias moves into the
    translated activation, :class:`Translated`), only the last layer learns an affine map.
    """

    def __init__(self, layer: nn.Module, affine: bool) -> None:
        super().__init__(layer)
        if not affine and getattr(layer, "bias", None) is not None:
            layer.bias = None
        out = layer.weight.shape[0]
        self.gain = nn.Parameter(torch.ones(out)) if affine else None

    def compute_weight(self) -> Tensor:
        v = self.layer.weight
        scale = v.flatten(1).norm(dim=1).clamp_min(EPS).reciprocal()
        if self.gain is not None:
            scale = scale * self.gain
        return v * scale.view(-1, *([1] * (v.ndim - 1)))


class Translated(nn.Module):
    """TPReLU-style activation f(x − α) + α with α learned per channel (Xiang & Li, 2017).

    Replaces the bias of a strict weight-normalised layer without shifting the mean of its output.
    """

    def __init__(self, channels: int, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn
        self.alpha = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        a = self.alpha.view(1, -1, *([1] * (x.ndim - 2)))
        return self.fn(x - a) + a


def _same_layer(module: nn.Module, last: bool = False) -> nn.Module:
    return module


def _no_feature(channels: int, ndim: int = 2) -> nn.Module:
    return nn.Identity()


def _plain_act(channels: int, fn: nn.Module) -> nn.Module:
    return fn


def batch_norm(channels: int, ndim: int = 2) -> nn.Module:
    """BN (Ioffe & Szegedy, 2015): per-channel statistics over the batch (and positions)."""
    return nn.BatchNorm2d(channels) if ndim == 2 else nn.BatchNorm1d(channels)


def layer_norm(channels: int, ndim: int = 2) -> nn.Module:
    """LN (Ba et al., 2016): per-sample statistics over all of C×H×W, a per-channel affine map.

    As compare_gan's ``layer_norm`` (normalising over every axis but the batch).
    """
    return nn.GroupNorm(1, channels) if ndim == 2 else nn.LayerNorm(channels)


def spectral_norm(module: nn.Module, last: bool = False) -> nn.Module:
    return SpectralNorm(module)


def weight_norm(module: nn.Module, last: bool = False) -> nn.Module:
    """Strict WN for hidden layers, affine WN for the ``last`` one (Xiang & Li, 2017)."""
    return WeightNorm(module, affine=last)


@dataclass(frozen=True)
class Norm:
    """How the discriminator is normalised; see the module docstring for the three hooks."""

    name: str
    layer: Callable[..., nn.Module] = _same_layer
    feature: Callable[..., nn.Module] = _no_feature
    act: Callable[[int, nn.Module], nn.Module] = _plain_act


NORMS: Registry[Norm] = Registry("normalization", specs=NORM_SPECS)
NORMS.add("none", Norm("none"))
NORMS.add("bn", Norm("bn", feature=batch_norm))
NORMS.add("ln", Norm("ln", feature=layer_norm))
NORMS.add("sn", Norm("sn", layer=spectral_norm))
NORMS.add("wn", Norm("wn", layer=weight_norm, act=Translated))


def reparametrized_layers(module: nn.Module) -> list[Reparametrized]:
    return [m for m in module.modules() if isinstance(m, Reparametrized)]


def power_iteration(layers: Iterable[Reparametrized]) -> None:
    """Advance every spectrally normalised layer by one power iteration (after an optimizer step)."""
    for m in layers:
        if isinstance(m, SpectralNorm):
            m.power_iteration()


@contextmanager
def weight_step(layers: Iterable[Reparametrized]) -> Iterator[None]:
    """Within the block, each layer's normalised weight is computed once and reused.

    Wrap one training step (its forwards, penalty and backward) in it; leave it before the
    optimizer changes the weights.
    """
    layers = list(layers)
    for m in layers:
        m.begin_step()
    try:
        yield
    finally:
        for m in layers:
            m.end_step()
