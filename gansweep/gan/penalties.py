"""Discriminator penalties: one small pure function each, with one shared signature.

``penalty(discriminator, real, fake, labels, weight, *, generator=None) -> scalar`` returns the
term added to the discriminator loss, already multiplied by ``weight`` (λ, or γ for R1).
``labels`` are the real batch's class labels for a conditional discriminator (else ``None``);
``generator`` is the ``torch.Generator`` that draws the penalty's random numbers, so a trial owns
all its randomness and continues bit-for-bit from a checkpoint.

Gradient norms follow compare_gan (``penalty_lib``): ‖g‖ = sqrt(1e-4 + Σ g²), which keeps the
norm differentiable at g = 0.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from gansweep.gan.specs import PENALTY_SPECS
from gansweep.registry import Registry

Penalty = Callable[..., Tensor]
PENALTIES: Registry[Penalty] = Registry("penalty", specs=PENALTY_SPECS)

NORM_EPS = 1e-4
"""Added under the square root of the gradient norm (compare_gan)."""


def input_gradients(discriminator: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    """∇ₓ Σᵢ D(xᵢ), with a graph, so a penalty built on it trains the discriminator."""
    x = x.detach().requires_grad_(True)
    logits = discriminator(x, labels)
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad


def gradient_norms(grad: Tensor) -> Tensor:
    """Per-sample ‖g‖₂ = sqrt(1e-4 + Σ g²)."""
    return (NORM_EPS + grad.flatten(1).square().sum(1)).sqrt()


def _uniform(like: Tensor, shape: tuple[int, ...], generator: torch.Generator | None) -> Tensor:
    return torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)


@PENALTIES.register("none")
def no_penalty(discriminator, real, fake, labels, weight, *, generator=None) -> Tensor:
    """0: the unregularised discriminator."""
    return real.new_zeros(())


@PENALTIES.register("gp")
def gradient_penalty(discriminator, real, fake, labels, weight, *, generator=None) -> Tensor:
    """λ E_x̂ (‖∇D(x̂)‖₂ − 1)², x̂ = x + α(G(z) − x), α ~ U[0, 1] per sample.

    WGAN-GP (Gulrajani et al., 2017): a soft 1-Lipschitz constraint on the lines between real and
    generated samples; the GAN Landscape applies it with every loss.
    """
    alpha = _uniform(real, (real.shape[0],) + (1,) * (real.ndim - 1), generator)
    x_hat = real + alpha * (fake.detach() - real)
    norms = gradient_norms(input_gradients(discriminator, x_hat, labels))
    return weight * (norms - 1.0).square().mean()


@PENALTIES.register("dragan")
def dragan_penalty(discriminator, real, fake, labels, weight, *, generator=None) -> Tensor:
    """λ E_x̃ (‖∇D(x̃)‖₂ − 1)², x̃ = clip(x + std(x)·(u − ½)), u ~ U[0, 1] per value.

    DRAGAN (Kodali et al., 2017): the same constraint as GP, but around perturbed real data; the
    perturbation uses the batch's std over all values and is clipped to the data range [−1, 1]
    (compare_gan). Not clipped for 2-D points, which have no range.
    """
    std = real.std(unbiased=False)
    noisy = real + std * (_uniform(real, tuple(real.shape), generator) - 0.5)
    if real.ndim > 2:
        noisy = noisy.clamp(-1.0, 1.0)
    norms = gradient_norms(input_gradients(discriminator, noisy, labels))
    return weight * (norms - 1.0).square().mean()


def penalised_weights(discriminator: nn.Module) -> list[Tensor]:
    """The kernels of every linear, convolutional and embedding layer (no biases, no norm gains)."""
    kinds = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)
    return [m.weight for m in discriminator.modules() if isinstance(m, kinds)]


@PENALTIES.register("l2")
def l2_penalty(discriminator, real, fake, labels, weight, *, generator=None) -> Tensor:
    """λ · mean over layers of ½‖W‖²_F: weight decay on the discriminator's kernels.

    As compare_gan's ``l2_penalty`` (the mean over layers of ``tf.nn.l2_loss``), studied as the
    classical regulariser in the GAN Landscape.
    """
    weights = penalised_weights(discriminator)
    return weight * torch.stack([0.5 * w.square().sum() for w in weights]).mean()


@PENALTIES.register("r1")
def r1_penalty(discriminator, real, fake, labels, weight, *, generator=None) -> Tensor:
    """γ/2 · E_x ‖∇D(x)‖₂² on real data (Mescheder et al., 2018), as used by BigGAN's ablations."""
    grad = input_gradients(discriminator, real, labels)
    return 0.5 * weight * grad.flatten(1).square().sum(1).mean()
