"""What every architecture shares: the registry, option checking, initialisation, projection.

An architecture is a builder ``build(cfg, shape, num_classes, norm) -> (G, D)``:

- ``G(z, labels=None)`` maps a latent batch (N, z_dim) to samples of ``shape``, with the
  attributes ``z_dim``, ``num_classes`` (0: unconditional) and ``options`` (the resolved options,
  read by the trainer for EMA, truncation and orthogonal regularisation);
- ``D(x, labels=None)`` returns logits of shape (N,); a conditional D uses a projection
  (Miyato & Koyama, 2018).

``shape`` is (C, H, W) for images and (2,) for points; ``norm`` is the discriminator's
:class:`~gansweep.gan.norms.Norm`.

Packing (``cfg.pack`` = m > 1, Lin et al., 2018, "PacGAN") is every architecture's: its D is built
for m·C input channels (:func:`d_channels`) and wrapped in :class:`Packed` (:func:`pack_discriminator`),
so ``D(x)`` still takes samples, N·m of them, and returns one logit per pack of m.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from gansweep.data.specs import IMAGE
from gansweep.errors import GansweepError
from gansweep.gan.norms import Norm
from gansweep.gan.specs import ARCH_SPECS, INITS, resolve_options
from gansweep.registry import Registry

Builder = Callable[..., tuple[nn.Module, nn.Module]]
ARCHITECTURES: Registry[Builder] = Registry("architecture", specs=ARCH_SPECS)
"""Builders by name; each name's facts (data kind, options) are its :data:`ARCH_SPECS` entry."""


def check_image(arch: str, shape: tuple[int, ...], multiple: int) -> tuple[int, int]:
    """(channels, resolution) of a square image shape whose side is a multiple of ``multiple``."""
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] % multiple:
        raise GansweepError(
            f"architecture {arch!r} needs square images with a side divisible by {multiple}, got {shape}"
        )
    return shape[0], shape[1]


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """N(0, std²) kernels and zero biases for every linear/conv layer (DCGAN, compare_gan)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def init_xavier(module: nn.Module) -> None:
    """Xavier-uniform kernels and zero biases (compare_gan's ResNets)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


INITIALIZERS: Registry[Callable[[nn.Module], None]] = Registry("initialization")
"""The ``init`` option's initialisations by name (:data:`gansweep.gan.specs.INITS`)."""
INITIALIZERS.add("default", lambda module: None)  # torch's own (Kaiming-uniform kernels)
INITIALIZERS.add("normal", init_normal)
INITIALIZERS.add("xavier", init_xavier)
if set(INITIALIZERS.names()) != set(INITS):  # pragma: no cover - a spec without its implementation
    raise RuntimeError("INITIALIZERS and gansweep.gan.specs.INITS disagree")


def d_channels(cfg: Any, channels: int) -> int:
    """Input channels (or coordinates) of the discriminator: a pack of ``cfg.pack`` samples."""
    return channels * getattr(cfg, "pack", 1)


class Packed(nn.Module):
    """A discriminator of packs: N·m samples → N packs of m, concatenated along the first sample
    axis (channels, or coordinates) → ``inner`` → N logits (PacGAN, Lin et al., 2018).

    Consecutive samples form a pack. A penalty on the input gradient is taken on ``inner`` at the
    packed input (:meth:`pack`), so GP, DRAGAN and R1 constrain the function D actually computes.
    """

    def __init__(self, inner: nn.Module, m: int) -> None:
        super().__init__()
        self.inner, self.m = inner, m
        self.num_classes = 0

    def pack(self, x: Tensor) -> Tensor:
        if x.shape[0] % self.m:
            raise ValueError(f"a packed discriminator needs a multiple of {self.m} samples, got {x.shape[0]}")
        return x.reshape(x.shape[0] // self.m, self.m * x.shape[1], *x.shape[2:])

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is not None:
            raise ValueError("a packed discriminator is unconditional")
        return self.inner(self.pack(x))


def pack_discriminator(arch: str, d: nn.Module, m: int) -> nn.Module:
    """``d`` itself for m = 1 (no packing: the same module, state and outputs), else :class:`Packed`.

    A conditional discriminator is refused: a pack of m samples has m labels, and PacGAN defines none.
    """
    if m == 1:
        return d
    if getattr(d, "num_classes", 0):
        raise GansweepError(f"architecture {arch!r}: pack > 1 needs an unconditional discriminator "
                            "(set the option conditional: false)")
    return Packed(d, m)


def image_architecture(name: str, multiple: int, init: Callable[[nn.Module], None]) -> Callable[[Callable], Callable]:
    """Register ``make(cfg, channels, resolution, num_classes, norm, options) -> (G, D)`` as the image
    architecture of spec ``name``: the options, the shape check, the initialisation, packing and
    ``G.options`` are done here once for every such architecture (``make`` builds its D for
    :func:`d_channels` input channels)."""
    if ARCH_SPECS[name].kind != IMAGE:
        raise ValueError(f"architecture {name!r}: its spec is not an image architecture")

    def register(make: Callable[..., tuple[nn.Module, nn.Module]]) -> Callable:
        def build(cfg: Any, shape: tuple[int, ...], num_classes: int, norm: Any) -> tuple[nn.Module, nn.Module]:
            resolved = resolve_options(name, cfg.options)
            channels, res = check_image(name, shape, multiple)
            g, d = make(cfg, channels, res, num_classes, norm, resolved)
            init(g)
            init(d)
            g.options = resolved
            return g, pack_discriminator(name, d, cfg.pack)

        build.__doc__ = make.__doc__
        ARCHITECTURES.add(name, build)
        return make

    return register


class Projection(nn.Module):
    """Logit = ψ(h) + ⟨embed(y), h⟩ (Miyato & Koyama, 2018, "cGANs with Projection Discriminator")."""

    def __init__(self, features: int, num_classes: int, norm: Norm) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.linear = norm.layer(nn.Linear(features, 1), last=True)
        self.embed = norm.layer(nn.Embedding(num_classes, features), last=True) if num_classes else None

    def forward(self, h: Tensor, labels: Tensor | None = None) -> Tensor:
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("a conditional discriminator needs labels")
            out = out + (self.embed(labels) * h).sum(1)
        return out
