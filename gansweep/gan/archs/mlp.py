"""``mlp``: fully connected G and D for the 2-D mixtures (Metz et al., 2017, "Unrolled GANs").

G: z → [Linear(width) → ReLU] × depth → Linear(2). D: x → [Linear(width) → norm → act] × depth →
Linear(1). The generator has no batch norm: on 2-D mixtures it couples the samples of a batch and
hides mode collapse, and the mixtures' reference setups use none.
"""

from __future__ import annotations

from torch import Tensor, nn

from gansweep.errors import GansweepError
from gansweep.gan.archs.base import ARCHITECTURES, Projection
from gansweep.gan.norms import Norm
from gansweep.gan.specs import resolve_options



class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, out: int, width: int, depth: int) -> None:
        super().__init__()
        self.z_dim, self.num_classes = z_dim, 0
        layers: list[nn.Module] = []
        fan_in = z_dim
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.ReLU()]
            fan_in = width
        self.net = nn.Sequential(*layers, nn.Linear(fan_in, out))

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    def __init__(self, inp: int, width: int, depth: int, norm: Norm) -> None:
        super().__init__()
        self.num_classes = 0
        layers: list[nn.Module] = []
        fan_in = inp
        for i in range(depth):
            layers.append(norm.layer(nn.Linear(fan_in, width)))
            if i:
                layers.append(norm.feature(width, 1))
            layers.append(norm.act(width, nn.LeakyReLU(0.2)))
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
    g = MLPGenerator(cfg.z_dim, shape[0], cfg.width, options["depth"])
    d = MLPDiscriminator(shape[0], cfg.width, options["depth"], norm)
    g.options = options
    return g, d
