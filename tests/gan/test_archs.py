"""Architecture specifics: layer counts of the papers, BigGAN's pieces, conditioning."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gansweep.gan import ARCHITECTURES, NORMS, GANConfig
from gansweep.gan.archs.layers import CondBatchNorm, SelfAttention
from gansweep.gan.norms import SpectralNorm

from .helpers import SMOKE_RES


def build(arch, res=32, classes=0, norm="sn", **options):
    cfg = GANConfig(arch, width=2, z_dim=12, options=options)
    shape = (2,) if arch == "mlp" else (3, res, res)
    return ARCHITECTURES[arch](cfg, shape, classes, NORMS[norm])


def count(net, kind):
    return sum(isinstance(m, kind) for m in net.modules())


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES.names() if SMOKE_RES[a]])
def test_generators_use_batch_norm(arch):
    g, _ = build(arch)
    assert count(g, nn.BatchNorm2d) > 0


def test_paper_layer_counts():
    _, d = build("sndcgan")
    assert count(d, nn.Conv2d) == 7 and count(d, nn.Linear) == 1  # SNGAN Table 3
    _, d = build("dcgan")
    assert count(d, nn.Conv2d) == 4
    g, d = build("resnet19", res=128)
    assert len(g.blocks) == 5 and len(d.blocks) == 6  # GAN Landscape Table 5
    assert sum(b.down for b in d.blocks) == 6
    g, d = build("resnet_cifar", res=32)
    assert len(g.blocks) == 3 and [b.down for b in d.blocks] == [True, True, False, False]  # SNGAN Table 4


def test_sn_wraps_every_discriminator_kernel():
    _, d = build("resnet19", norm="sn")
    raw = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(raw) == count(d, SpectralNorm)


def test_biggan_pieces():
    g, d = build("biggan", res=128, classes=5, shared_dim=4)
    assert len(g.blocks) == 5 and g.skip_z
    assert g.embed.weight.shape == (5, 4)  # the shared class embedding
    # skip-z: 12 latent dims in 6 chunks of 2; each block's BN sees [embedding, chunk]
    assert g.fc.layer.in_features == 2
    cbn = g.blocks[0].bn1
    assert isinstance(cbn, CondBatchNorm) and cbn.gain.layer.in_features == 4 + 2
    # attention at 64×64: after G's 4th block (8, 16, 32, 64) and D's first (64)
    assert g.attention_after == 3 and d.attention_after == 0
    assert count(g, SelfAttention) == 1 and count(d, SelfAttention) == 1
    assert count(g, SpectralNorm) > 0  # BigGAN normalises G too
    assert d.head.embed is not None  # projection discriminator
    x = g(torch.randn(3, 12), torch.tensor([0, 1, 4]))
    assert x.shape == (3, 3, 128, 128)
    assert d(x, torch.tensor([0, 1, 4])).shape == (3,)


def test_biggan_options():
    g, _ = build("biggan", res=32, classes=5, skip_z=False, shared_embedding=False, attention_resolution=0, g_sn=False)
    assert g.embed is None and not g.skip_z and g.attention is None
    assert g.blocks[0].bn1.gain.in_features == 5  # one-hot labels: per-layer class embeddings
    assert count(g, SpectralNorm) == 0
    g, d = build("biggan", res=32, attention_resolution=16)
    assert g.attention_after == 1 and d.attention_after == 0
    assert g.num_classes == 0 and d.head.embed is None  # no labels: unconditional


def test_self_attention_starts_as_identity():
    att = SelfAttention(8)
    x = torch.randn(2, 8, 4, 4)
    torch.testing.assert_close(att(x), x)
    with torch.no_grad():
        att.gamma.fill_(1.0)
    assert not torch.allclose(att(x), x)


def test_conditional_resnet():
    g, d = build("resnet_cifar", classes=4, conditional=True)
    assert g.num_classes == 4 and d.head.embed is not None
    x = g(torch.randn(2, 12), torch.tensor([1, 3]))
    assert d(x, torch.tensor([1, 3])).shape == (2,)


@pytest.mark.parametrize("norm", ["bn", "ln", "wn"])
def test_feature_norms_appear_in_the_discriminator(norm):
    _, d = build("sndcgan", norm=norm)
    kinds = {"bn": nn.BatchNorm2d, "ln": nn.GroupNorm}
    if norm in kinds:
        assert count(d, kinds[norm]) == 6  # after every conv but the first
    else:
        from gansweep.gan.norms import Translated, WeightNorm

        assert count(d, WeightNorm) == 8 and count(d, Translated) == 7
        assert d.head.linear.gain is not None  # the last layer is affine
