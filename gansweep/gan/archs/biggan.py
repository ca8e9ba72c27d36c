"""``biggan``: BigGAN's residual G and D (Brock et al., 2019, Appendix B; compare_gan
``resnet_biggan.py``).

- G: class-conditional batch norm whose gains and biases are linear in [shared class embedding,
  chunk of z] (``shared_embedding``, ``shared_dim``); the hierarchical latent (``skip_z``) splits z
  into one chunk for the 4×4 seed and one per block; spectral norm on G's layers (``g_sn``).
- Self-attention (SAGAN) after the G and D blocks whose output has ``attention_resolution``
  (default: half the image side, BigGAN's 64 at 128; 0: none).
- D: residual down-blocks, ReLU, global sum pool, projection of the class (Miyato & Koyama, 2018)
  for labelled data (``conditional``).
- Training options with BigGAN's values: orthogonal regularisation β = 1e-4 (``orth_reg``), an EMA
  of G with decay 0.9999 from step 20k (``ema_decay``, ``ema_start``), and ``truncation`` of z at
  sampling (None: off).

Channel multipliers of w = ``width`` per resolution (G in → out; D out, last blocks keep the size):
128: G 16,16,8,4,2,1; D 1,2,4,8,16,16. 64: G 16,16,8,4,2; D 1,2,4,8,16. 32: G 4,4,4,4; D 4,4,4,4.
16: G 4,4,4; D 4,4,4. Kernels start orthogonal (BigGAN).
"""

from __future__ import annotations

from torch import nn

from gansweep.errors import GansweepError
from gansweep.gan.archs.base import ARCHITECTURES, check_image, d_channels, pack_discriminator
from gansweep.gan.archs.layers import identity
from gansweep.gan.archs.resnet import ResDiscriminator, ResGenerator, conditioning
from gansweep.gan.norms import Norm, spectral_norm
from gansweep.gan.specs import resolve_options


# resolution → (G channel multipliers, D channel multipliers, number of D blocks that downsample)
ARCH = {
    128: ((16, 16, 8, 4, 2, 1), (1, 2, 4, 8, 16, 16), 5),
    64: ((16, 16, 8, 4, 2), (1, 2, 4, 8, 16), 4),
    32: ((4, 4, 4, 4), (4, 4, 4, 4), 2),
    16: ((4, 4, 4), (4, 4, 4), 1),
}


def init_orthogonal(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.orthogonal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def attention_index(resolutions: list[int], wanted: int | None, default: int) -> int | None:
    """Index of the first block whose output side is the attention resolution (None: no attention)."""
    res = default if wanted is None else wanted
    if res == 0:
        return None
    if res not in resolutions:
        allowed = ", ".join(str(r) for r in sorted(set(resolutions)))
        raise GansweepError(f"architecture 'biggan': attention_resolution must be 0 or one of {allowed}, got {res}")
    return resolutions.index(res)




@ARCHITECTURES.register("biggan")
def build(cfg, shape, num_classes: int, norm: Norm) -> tuple[nn.Module, nn.Module]:
    options = resolve_options("biggan", cfg.options)
    channels, res = check_image("biggan", shape, 16)
    if res not in ARCH:
        raise GansweepError(f"architecture 'biggan' supports resolutions {sorted(ARCH)}, got {res}")
    classes = conditioning("biggan", options, num_classes, cfg.options)
    g_mult, d_mult, downs = ARCH[res]
    w = cfg.width
    g_blocks = [(g_mult[i] * w, g_mult[i + 1] * w, True) for i in range(len(g_mult) - 1)]
    d_blocks = [(d_channels(cfg, channels) if i == 0 else d_mult[i - 1] * w, d_mult[i] * w, i < downs)
                for i in range(len(d_mult))]
    g_res = [4 * 2 ** (i + 1) for i in range(len(g_blocks))]
    d_res = [res // 2 ** min(i + 1, downs) for i in range(len(d_blocks))]
    want = options["attention_resolution"]
    g = ResGenerator(
        cfg.z_dim,
        channels,
        g_blocks,
        num_classes=classes,
        shared_dim=options["shared_dim"] if options["shared_embedding"] else 0,
        skip_z=options["skip_z"],
        attention_after=attention_index(g_res, want, res // 2),
        wrap=spectral_norm if options["g_sn"] else identity,
    )
    d = ResDiscriminator(
        d_blocks, norm, num_classes=classes, pool="sum", attention_after=attention_index(d_res, want, res // 2)
    )
    init_orthogonal(g)
    init_orthogonal(d)
    g.options = options
    return g, pack_discriminator("biggan", d, cfg.pack)
