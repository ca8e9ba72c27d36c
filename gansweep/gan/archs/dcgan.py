"""``dcgan``: the DCGAN of Radford et al., 2016, as specified in compare_gan (``dcgan.py``).

With w = ``width`` and s = resolution/16:

G: z → Linear(8w·s²) → BN → ReLU → [ConvT 5×5/2 → BN → ReLU] to 4w, 2w, w → ConvT 5×5/2 → tanh.
D: x → Conv 5×5/2 (w) → lReLU(0.2) → [Conv 5×5/2 → norm → lReLU(0.2)] to 2w, 4w, 8w → Linear(1).

Any resolution divisible by 16 works (16: s = 1, 128: s = 8). Kernels start from N(0, 0.02²).
"""

from __future__ import annotations

from torch import Tensor, nn

from gansweep.gan.archs.base import Projection, d_channels, image_architecture, init_normal
from gansweep.gan.norms import Norm


def up(cin: int, cout: int) -> nn.ConvTranspose2d:
    """5×5 stride-2 transposed convolution that exactly doubles the side ('SAME' in TF)."""
    return nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1)


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, channels: int, resolution: int, width: int) -> None:
        super().__init__()
        self.z_dim, self.num_classes = z_dim, 0
        self.s, self.c0 = resolution // 16, 8 * width
        self.fc = nn.Linear(z_dim, self.c0 * self.s * self.s)
        self.bn0 = nn.BatchNorm2d(self.c0)
        blocks: list[nn.Module] = []
        for cin, cout in ((8 * width, 4 * width), (4 * width, 2 * width), (2 * width, width)):
            blocks += [up(cin, cout), nn.BatchNorm2d(cout), nn.ReLU()]
        self.blocks = nn.Sequential(*blocks, up(width, channels), nn.Tanh())

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.fc(z).view(-1, self.c0, self.s, self.s)
        return self.blocks(self.bn0(h).relu())


class DCGANDiscriminator(nn.Module):
    def __init__(self, channels: int, resolution: int, width: int, norm: Norm) -> None:
        super().__init__()
        self.num_classes = 0
        chans = (channels, width, 2 * width, 4 * width, 8 * width)
        layers: list[nn.Module] = []
        for i in range(4):
            layers.append(norm.layer(nn.Conv2d(chans[i], chans[i + 1], 5, stride=2, padding=2)))
            if i:
                layers.append(norm.feature(chans[i + 1]))
            layers.append(norm.act(chans[i + 1], nn.LeakyReLU(0.2)))
        self.convs = nn.Sequential(*layers)
        s = resolution // 16
        self.head = Projection(8 * width * s * s, 0, norm)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.head(self.convs(x).flatten(1))


@image_architecture("dcgan", multiple=16, init=init_normal)
def build(cfg, channels: int, res: int, num_classes: int, norm: Norm, options) -> tuple[nn.Module, nn.Module]:
    return DCGANGenerator(cfg.z_dim, channels, res, cfg.width), DCGANDiscriminator(d_channels(cfg, channels), res, cfg.width, norm)
