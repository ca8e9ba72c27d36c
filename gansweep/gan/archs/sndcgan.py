"""``sndcgan``: the CNN of Miyato et al., 2018 (SNGAN, Table 3), as specified in compare_gan.

With w = ``width`` and s = resolution/8:

G: z → Linear(8w·s²) → BN → ReLU → [ConvT 4×4/2 → BN → ReLU] to 4w, 2w, w → Conv 3×3 (C) → tanh.
D: Conv 3×3 (w) → [Conv 4×4/2, Conv 3×3] at 2w, 4w, 8w → Linear(1); every conv but the first is
followed by the feature normalization, every one by lReLU(0.1).

Any resolution divisible by 8 works. Kernels start from N(0, 0.02²).
"""

from __future__ import annotations

from torch import Tensor, nn

from gansweep.gan.archs.base import Projection, d_channels, image_architecture, init_normal
from gansweep.gan.norms import Norm


class SNDCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, channels: int, resolution: int, width: int) -> None:
        super().__init__()
        self.z_dim, self.num_classes = z_dim, 0
        self.s, self.c0 = resolution // 8, 8 * width
        self.fc = nn.Linear(z_dim, self.c0 * self.s * self.s)
        self.bn0 = nn.BatchNorm2d(self.c0)
        layers: list[nn.Module] = []
        for cin, cout in ((8 * width, 4 * width), (4 * width, 2 * width), (2 * width, width)):
            layers += [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
        self.blocks = nn.Sequential(*layers, nn.Conv2d(width, channels, 3, padding=1), nn.Tanh())

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.fc(z).view(-1, self.c0, self.s, self.s)
        return self.blocks(self.bn0(h).relu())


# (out channels as multiples of width, kernel, stride) of the seven discriminator convolutions
D_CONVS = ((1, 3, 1), (2, 4, 2), (2, 3, 1), (4, 4, 2), (4, 3, 1), (8, 4, 2), (8, 3, 1))


class SNDCGANDiscriminator(nn.Module):
    def __init__(self, channels: int, resolution: int, width: int, norm: Norm) -> None:
        super().__init__()
        self.num_classes = 0
        layers: list[nn.Module] = []
        cin = channels
        for i, (mult, k, stride) in enumerate(D_CONVS):
            cout = mult * width
            layers.append(norm.layer(nn.Conv2d(cin, cout, k, stride=stride, padding=1)))
            if i:
                layers.append(norm.feature(cout))
            layers.append(norm.act(cout, nn.LeakyReLU(0.1)))
            cin = cout
        self.convs = nn.Sequential(*layers)
        s = resolution // 8
        self.head = Projection(8 * width * s * s, 0, norm)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.head(self.convs(x).flatten(1))


@image_architecture("sndcgan", multiple=8, init=init_normal)
def build(cfg, channels: int, res: int, num_classes: int, norm: Norm, options) -> tuple[nn.Module, nn.Module]:
    return (SNDCGANGenerator(cfg.z_dim, channels, res, cfg.width),
            SNDCGANDiscriminator(d_channels(cfg, channels), res, cfg.width, norm))
