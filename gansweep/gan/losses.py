"""GAN losses: one small pure function per side, all on discriminator logits.

Each entry of :data:`LOSSES` is a :class:`Loss` pair. ``d(real_logits, fake_logits)`` is what the
discriminator minimises, ``g(fake_logits)`` what the generator minimises; both return a scalar mean
over the batch. The definitions follow "The GAN Landscape" (Kurach et al., 2019, Sec. 2.1) and
its code (compare_gan ``loss_lib``), with σ the logistic sigmoid and softplus(t) = log(1 + eᵗ).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from gansweep.gan.specs import LOSS_SPECS
from gansweep.registry import Registry


class Loss(NamedTuple):
    """The two halves of a GAN objective."""

    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]


LOSSES: Registry[Loss] = Registry("loss", specs=LOSS_SPECS)


def ns_d(real: Tensor, fake: Tensor) -> Tensor:
    """−E log σ(D(x)) − E log(1 − σ(D(G(z)))) = E softplus(−D(x)) + E softplus(D(G(z))).

    Goodfellow et al., 2014: the binary cross-entropy of a real/fake classifier.
    """
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def ns_g(fake: Tensor) -> Tensor:
    """Non-saturating: −E log σ(D(G(z))) = E softplus(−D(G(z))) (Goodfellow et al., 2014)."""
    return F.softplus(-fake).mean()


def mm_g(fake: Tensor) -> Tensor:
    """Minimax (saturating): E log(1 − σ(D(G(z)))) = −E softplus(D(G(z))) (Goodfellow et al., 2014)."""
    return -F.softplus(fake).mean()


def wgan_d(real: Tensor, fake: Tensor) -> Tensor:
    """E D(G(z)) − E D(x): the Kantorovich–Rubinstein critic objective (Arjovsky et al., 2017)."""
    return fake.mean() - real.mean()


def wgan_g(fake: Tensor) -> Tensor:
    """−E D(G(z)) (Arjovsky et al., 2017)."""
    return -fake.mean()


def ls_d(real: Tensor, fake: Tensor) -> Tensor:
    """½ E (σ(D(x)) − 1)² + ½ E σ(D(G(z)))² (Mao et al., 2017).

    Applied to the sigmoid output as compare_gan does, so the same discriminator serves every loss.
    """
    return 0.5 * ((torch.sigmoid(real) - 1.0).square().mean() + torch.sigmoid(fake).square().mean())


def ls_g(fake: Tensor) -> Tensor:
    """½ E (σ(D(G(z))) − 1)² (Mao et al., 2017)."""
    return 0.5 * (torch.sigmoid(fake) - 1.0).square().mean()


def hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    """E max(0, 1 − D(x)) + E max(0, 1 + D(G(z))) (Lim & Ye, 2017; Miyato et al., 2018)."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


LOSSES.add("ns", Loss(d=ns_d, g=ns_g))
LOSSES.add("mm", Loss(d=ns_d, g=mm_g))
LOSSES.add("wgan", Loss(d=wgan_d, g=wgan_g))
LOSSES.add("ls", Loss(d=ls_d, g=ls_g))
LOSSES.add("hinge", Loss(d=hinge_d, g=wgan_g))
