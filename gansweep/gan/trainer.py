"""Training one GAN: alternating Adam steps on an in-memory data set, with no per-step host sync.

A generator step follows ``n_disc`` discriminator steps (Goodfellow et al., 2014; Gulrajani et
al., 2017). Each discriminator step scores the real and the generated batch in one forward (their
concatenation, as compare_gan does) and adds the penalty; a reparametrised discriminator (SN, WN)
normalises its weights once per step (:func:`gansweep.gan.norms.weight_step`) and SN advances its
power iteration once after each optimizer step (:func:`gansweep.gan.norms.power_iteration`).

With packing (``cfg.pack`` = m, PacGAN) a step draws ``batch_size``·m real and as many generated
samples; D scores ``batch_size`` packs of each, and the penalty is taken on the packed input of
the inner discriminator (:class:`gansweep.gan.archs.base.Packed`).

Losses are summed on the device and read once per call and every ``check_every`` (K) steps, when
a non-finite value (loss or weight) raises :class:`Diverged`: at most K − 1 steps after it
appeared. That and the other speed-ups (fused Adam, cuDNN/TF32 flags, data on the device,
``torch.compile`` of the objectives) are training options, see :mod:`gansweep.gan.speed`; none
changes what is computed beyond floating-point rounding. The trainer owns its random generators
(training, evaluation, and batch indices of a host-held data set) and never touches torch's
global RNG, so a checkpoint restores a trial bit-for-bit and evaluating does not change what
training sees.
"""

from __future__ import annotations

import copy
import logging
import math
from typing import Any

import torch
from torch import Tensor, nn

from gansweep.data import Dataset
from gansweep.gan.archs import ARCHITECTURES
from gansweep.gan.archs.base import Packed
from gansweep.gan.config import GANConfig
from gansweep.gan.ema import EMA
from gansweep.gan.losses import LOSSES
from gansweep.gan.norms import NORMS, power_iteration, reparametrized_layers, weight_step
from gansweep.gan.penalties import PENALTIES
from gansweep.gan.regularizers import orthogonal_regularization, orthogonal_weights
from gansweep.gan.sampler import Sampler
from gansweep.gan.speed import Speedups

log = logging.getLogger(__name__)


class Diverged(Exception):
    """Training produced a non-finite loss or weight; ``step`` is the step it was noticed at."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"diverged at generator step {step}: {reason}")
        self.step, self.reason = step, reason


class GANTrainer:
    """Builds G and D for ``cfg`` and ``data`` on ``device`` and trains them.

    ``generator`` is the network to sample from: the EMA copy when ``options.ema_decay`` > 0.
    """

    def __init__(self, cfg: GANConfig, data: Dataset, device: str | torch.device = "cpu", seed: int = 0) -> None:
        self.cfg = cfg
        self.device = torch.device(device)
        self.loss = LOSSES[cfg.loss]
        self.penalty = PENALTIES[cfg.penalty]
        norm = NORMS[cfg.normalization]
        shape = tuple(int(s) for s in data.train.shape[1:])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            g, d = ARCHITECTURES[cfg.architecture](cfg, shape, data.num_classes, norm)
        self.G, self.D = g.to(self.device), d.to(self.device)
        self.pack = cfg.pack
        self.samples_per_step = cfg.batch_size * cfg.pack  # real (and generated) samples a D step draws
        self._d_inner = self.D.inner if isinstance(self.D, Packed) else self.D
        self.shape = shape
        self.options: dict[str, Any] = dict(g.options)
        self.speed = Speedups.from_options(self.options)
        self.num_classes = int(getattr(g, "num_classes", 0))
        self.step = 0

        # a small train split lives on the device; a large one stays in host memory, its batch
        # indices drawn by a host generator so that drawing them needs no sync
        on_device = self.speed.holds_on_device(data.train)
        home = self.device if on_device else torch.device("cpu")
        self.x = data.train.to(home, torch.float32)
        self.y = data.train_labels.to(home, torch.long) if self.num_classes else None
        self.data_rng = None if on_device else torch.Generator().manual_seed(seed + 2_000_003)
        self._d_params, self._g_params = list(self.D.parameters()), list(self.G.parameters())
        self.opt_d = adam(self._d_params, cfg.lr, cfg, self.speed)
        self.opt_g = adam(self._g_params, cfg.generator_lr, cfg, self.speed)
        self._d_objective = self.speed.compiled(self._d_loss)
        self._g_objective = self.speed.compiled(self._g_losses)
        decay, start = self.options["ema_decay"], self.options["ema_start"]
        self.ema = EMA(self.G, decay, start) if decay else None
        self._d_reparam = reparametrized_layers(self.D)
        self._g_reparam = reparametrized_layers(self.G)  # BigGAN's spectrally normalised G
        power_iteration(self._d_reparam + self._g_reparam)  # σ of the initialised weights
        self._orth = orthogonal_weights(self.G) if self.options["orth_reg"] else []
        self.rng = torch.Generator(self.device).manual_seed(seed)
        self.eval_rng = torch.Generator(self.device).manual_seed(seed + 1_000_003)
        self.sampler = Sampler(self.generator, cfg.z_dim, cfg.prior, self.device, self.eval_rng,
                               self.num_classes, self.options["truncation"])

    @property
    def generator(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.G

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    # ----- random draws -------------------------------------------------------------------
    def _prior(self, n: int, rng: torch.Generator) -> Tensor:
        return self.sampler.prior(n, rng)

    def _labels(self, n: int, rng: torch.Generator) -> Tensor | None:
        return self.sampler.labels(n, rng)

    def draw_z(self, n: int) -> Tensor:
        """``n`` latent vectors from the prior (normal, or uniform on [−1, 1]), from the eval stream."""
        return self.sampler.draw_z(n)

    def _real_batch(self) -> tuple[Tensor, Tensor | None]:
        n = self.samples_per_step
        if self.data_rng is None:
            idx = torch.randint(self.x.shape[0], (n,), generator=self.rng, device=self.device)
            return self.x[idx], (self.y[idx] if self.y is not None else None)
        idx = torch.randint(self.x.shape[0], (n,), generator=self.data_rng)
        return self._to_device(self.x[idx]), (None if self.y is None else self._to_device(self.y[idx]))

    def _to_device(self, batch: Tensor) -> Tensor:
        """A host batch copied without blocking the host (through pinned memory on CUDA)."""
        if self.device.type == "cuda":
            batch = batch.pin_memory()
        return batch.to(self.device, non_blocking=True)

    # ----- training -----------------------------------------------------------------------
    def _d_loss(self, real: Tensor, y_real: Tensor | None, z: Tensor,
                y_fake: Tensor | None) -> tuple[Tensor, Tensor]:
        """The discriminator's loss on a real batch and on G(z), and G(z) (what ``compile`` compiles).

        The penalty stays outside: its input gradients need a double backward, which compiled
        graphs do not support.
        """
        with torch.no_grad():
            fake = self.G(z, y_fake)
        both_y = None if y_real is None else torch.cat([y_real, y_fake])
        logits = self.D(torch.cat([real, fake]), both_y)
        n = logits.shape[0] // 2  # real and generated halves (of packs, when packed)
        return self.loss.d(logits[:n], logits[n:]), fake

    def _g_losses(self, z: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
        """The generator's loss and its total objective (with orthogonal regularisation)."""
        g_loss = self.loss.g(self.D(self.G(z, y), y))
        total = g_loss
        if self._orth:
            total = total + self.options["orth_reg"] * orthogonal_regularization(self._orth)
        return g_loss, total

    def _d_step(self) -> tuple[Tensor, Tensor]:
        real, y_real = self._real_batch()
        n = real.shape[0]
        y_fake = self._labels(n, self.rng)
        z = self._prior(n, self.rng)
        with weight_step(self._d_reparam):
            d_loss, fake = self._d_objective(real, y_real, z, y_fake)
            pen = self.penalty(self._d_inner, self._packed(real), self._packed(fake), y_real,
                               self.cfg.penalty_weight, generator=self.rng)
            self.opt_d.zero_grad(set_to_none=True)
            (d_loss + pen).backward()
        self.opt_d.step()
        power_iteration(self._d_reparam)
        return d_loss.detach(), pen.detach()

    def _packed(self, x: Tensor) -> Tensor:
        """``x`` as the inner discriminator sees it (itself without packing)."""
        return self.D.pack(x) if isinstance(self.D, Packed) else x

    def _g_step(self) -> Tensor:
        n = self.samples_per_step
        y = self._labels(n, self.rng)
        with weight_step(self._g_reparam):
            g_loss, total = self._g_objective(self._prior(n, self.rng), y)
            self.opt_g.zero_grad(set_to_none=True)
            total.backward()
        self.opt_g.step()
        power_iteration(self._g_reparam)
        return g_loss.detach()

    def train(self, steps: int) -> dict[str, float]:
        """Run ``steps`` generator steps; mean ``d_loss``, ``g_loss`` and ``penalty`` over them."""
        with self.speed.cuda_flags(self.device):
            return self._train(steps)

    def _train(self, steps: int) -> dict[str, float]:
        self.G.train()
        self.D.train()
        zero = torch.zeros((), device=self.device)
        sums = {"d_loss": zero, "penalty": zero, "g_loss": zero}
        done = 0
        for i in range(steps):
            _requires_grad(self._d_params, True)
            _requires_grad(self._g_params, False)
            for _ in range(self.cfg.n_disc):
                d_loss, pen = self._d_step()
                sums["d_loss"] = sums["d_loss"] + d_loss
                sums["penalty"] = sums["penalty"] + pen
            _requires_grad(self._d_params, False)
            _requires_grad(self._g_params, True)
            sums["g_loss"] = sums["g_loss"] + self._g_step()
            self.step += 1
            done += 1
            if self.ema is not None:
                self.ema.update(self.step)
            if (i + 1) % self.speed.check_every == 0 and i + 1 < steps:
                self._check(sums)
        _requires_grad(self._d_params, True)
        _requires_grad(self._g_params, True)
        if not done:
            return {k: math.nan for k in sums}
        self._check(sums)
        means = torch.stack([sums["d_loss"] / (done * self.cfg.n_disc), sums["g_loss"] / done,
                             sums["penalty"] / (done * self.cfg.n_disc)]).tolist()
        return dict(zip(("d_loss", "g_loss", "penalty"), means))

    def _check(self, sums: dict[str, Tensor]) -> None:
        """One host sync: every summed loss and every weight finite, else :class:`Diverged`."""
        nets = [self.G, self.D] + ([self.ema.module] if self.ema is not None else [])
        params = [p for net in nets for p in net.parameters()]
        weights = torch.stack([p.detach().sum() for p in params]).sum()
        losses = torch.stack(list(sums.values()))
        flags = torch.cat([torch.isfinite(losses), torch.isfinite(weights).view(1)]).tolist()
        if all(flags):
            return
        bad = [name for name, ok in zip(list(sums) + ["weights"], flags) if not ok]
        log.warning("GAN diverged at step %d: non-finite %s", self.step, ", ".join(bad))
        raise Diverged(self.step, f"non-finite {', '.join(bad)}")

    # ----- evaluation ---------------------------------------------------------------------
    def sample(self, n: int, batch_size: int = 500) -> Tensor:
        """``n`` samples from :attr:`generator` in eval mode (truncated latents if configured)."""
        return self.sampler.sample(n, batch_size)

    @torch.no_grad()
    def singular_values(self) -> dict[str, float]:
        """Largest singular value σ₀ of the raw kernels of the first, middle and last layers of D and G.

        BigGAN (Brock et al., 2019, Sec. 4.1) watches σ₀ of G and D: an explosion of σ₀ in G
        precedes collapse. Kernels are reshaped to (out, in·k·k) (transposed convs: (in, out·k·k)).
        """
        out: dict[str, float] = {}
        for tag, net in (("g", self.G), ("d", self.D)):
            for name, w in chosen_kernels(net):
                out[f"sv_{tag}_{name}"] = w
        if not out:
            return {}
        names = list(out)
        values = torch.stack([torch.linalg.matrix_norm(out[k].flatten(1).float(), ord=2) for k in names]).tolist()
        return dict(zip(names, values))

    # ----- checkpoints --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A snapshot (copied tensors) of everything that training depends on."""
        state = {
            "step": self.step,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "ema": self.ema.module.state_dict() if self.ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": self.rng.get_state(),
            "eval_rng": self.eval_rng.get_state(),
        }
        if self.data_rng is not None:
            state["data_rng"] = self.data_rng.get_state()
        return copy.deepcopy(state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.ema is not None:
            self.ema.module.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        # a generator's state is a CPU ByteTensor even for a CUDA generator; a checkpoint loaded
        # with map_location="cuda" (as a GPU trial loads it) holds it on the GPU, which set_state refuses
        self.rng.set_state(state["rng"].cpu())
        self.eval_rng.set_state(state["eval_rng"].cpu())
        if self.data_rng is not None and "data_rng" in state:
            self.data_rng.set_state(state["data_rng"].cpu())


def adam(params: list[nn.Parameter], lr: float, cfg: GANConfig, speed: Speedups) -> torch.optim.Adam:
    """Adam (Kingma & Ba, 2015) with the config's betas, as one fused kernel per step by default."""
    return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), **speed.adam_kwargs())


def _requires_grad(params: list[nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)


def chosen_kernels(net: nn.Module) -> list[tuple[str, Tensor]]:
    """(name, kernel) of the first, middle and last conv/linear layers, named by kind and index."""
    found: list[tuple[str, Tensor]] = []
    counts = {"conv": 0, "linear": 0}
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            kind = "conv"
        elif isinstance(m, nn.Linear):
            kind = "linear"
        else:
            continue
        w = m.weight.transpose(0, 1) if isinstance(m, nn.ConvTranspose2d) else m.weight
        found.append((f"{kind}{counts[kind]}", w))
        counts[kind] += 1
    if len(found) <= 3:
        return found
    return [found[0], found[len(found) // 2], found[-1]]
