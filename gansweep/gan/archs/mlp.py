"""``mlp``: fully connected G and D for the 2-D mixtures (Metz et al., 2017, "Unrolled GANs").

G: z → [Linear(g_width) → g_norm → ReLU] × g_depth → Linear(2). D: x → [Linear(width) → norm →
act] × depth → Linear(1), act LeakyReLU(0.2) or, with ``maxout: k``, a maxout unit over k linear
pieces (Goodfellow et al., 2013): Linear(width·k) → max over each unit's k pieces.

By default G has no batch norm: on 2-D mixtures it couples the samples of a batch, and the
unrolled-GAN setups use none. PacGAN's setup (Lin et al., 2018) is ``g_norm: bn`` (hidden layers
without bias, as BN cancels it), ``g_width: 400``, ``g_depth: 4``, D width 200, depth 3,
``maxout: 5``, ``init: normal``. The options are the ``mlp`` entry of
:data:`gansweep.gan.specs.ARCH_SPECS`. With maxout the normalization's activation hook is not used
(maxout is the activation): under WN the hidden pieces carry no bias.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from gansweep.errors import GansweepError
from gansweep.gan.archs.base import ARCHITECTURES, INITIALIZERS, Projection, d_channels, pack_discriminator
from gansweep.gan.norms import Norm
from gansweep.gan.specs import MLP_G_NORMS, resolve_options
from gansweep.registry import Registry

G_NORMS: Registry[tuple[Callable[[int], nn.Module] | None, bool]] = Registry("generator normalization")
"""``g_norm`` → (the layer after each hidden Linear of G or None, whether that Linear has a bias)."""
G_NORMS.add("none", (None, True))
G_NORMS.add("bn", (nn.BatchNorm1d, False))
if set(G_NORMS.names()) != set(MLP_G_NORMS):  # pragma: no cover - a spec without its implementation
    raise RuntimeError("G_NORMS and gansweep.gan.specs.MLP_G_NORMS disagree")


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, out: int, width: int, depth: int, g_norm: str = "none") -> None:
        super().__init__()
        self.z_dim, self.num_classes = z_dim, 0
        feature, bias = G_NORMS[g_norm]
        layers: list[nn.Module] = []
        fan_in = z_dim
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width, bias=bias), *([feature(width)] if feature else []), nn.ReLU()]
            fan_in = width
        self.net = nn.Sequential(*layers, nn.Linear(fan_in, out))

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z)


class Maxout(nn.Module):
    """max over k pieces: (N, units·k) → (N, units), unit j taking features j·k … j·k + k − 1."""

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(1, (x.shape[1] // self.pieces, self.pieces)).amax(2)


class MLPDiscriminator(nn.Module):
    def __init__(self, inp: int, width: int, depth: int, norm: Norm, maxout: int = 0) -> None:
        super().__init__()
        self.num_classes = 0
        layers: list[nn.Module] = []
        fan_in, pieces = inp, max(maxout, 1)
        for i in range(depth):
            layers.append(norm.layer(nn.Linear(fan_in, width * pieces)))
            if i:
                layers.append(norm.feature(width * pieces, 1))
            layers.append(Maxout(maxout) if maxout else norm.act(width, nn.LeakyReLU(0.2)))
            fan_in = width
        self.net = nn.Sequential(*layers)
        self.head = Projection(fan_in, 0, norm)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.head(self.net(x))


@ARCHITECTURES.register("mlp")
def build(cfg, shape: tuple[int, ...], num_classes: int, norm: Norm) -> tuple[nn.Module, nn.Module]:
    options = resolve_options("mlp", cfg.options)
    if len(shape) != 1:
        raise GansweepError(f"architecture 'mlp' is for points of shape (d,), got {shape}")
    g_depth = options["g_depth"] or options["depth"]
    g = MLPGenerator(cfg.z_dim, shape[0], options["g_width"] or cfg.width, g_depth, options["g_norm"])
    d = MLPDiscriminator(d_channels(cfg, shape[0]), cfg.width, options["depth"], norm, options["maxout"])
    init = INITIALIZERS[options["init"]]
    init(g)
    init(d)
    g.options = options
    return g, pack_discriminator("mlp", d, cfg.pack)
