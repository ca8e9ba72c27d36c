"""Steps per second of an SNDCGAN training step: no normalization vs our SN vs GP vs torch's SN.

Spectral normalization is meant to be the cheap regulariser (Kurach et al., 2019; Miyato et al.,
2018). Ours runs one power iteration per discriminator step and reuses the normalised weights
across that step's forwards; ``torch.nn.utils.spectral_norm`` iterates and renormalises on every
forward. This script times full trainer steps (D step + G step) for each variant in one process
and prints each one's steps/s and its time relative to no normalization.

    python bench/bench_gan.py                       # small CPU sizes, ~10 s
    python bench/bench_gan.py --device cuda --resolution 32 --width 64 --batch-size 64 --steps 200
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence

import torch
from torch import nn

from torch.utils._python_dispatch import TorchDispatchMode

from gansweep.data import Dataset
from gansweep.gan import GANConfig, GANTrainer

log = logging.getLogger("bench_gan")

VARIANTS = ("none", "sn", "sn_torch", "gp", "sn_gp", "sn_torch_gp")
"""none: no normalization; sn: ours; sn_torch: torch.nn.utils.spectral_norm; gp: WGAN-GP (λ=10);
sn_gp, sn_torch_gp: both (the penalty's extra forward is where per-forward normalisation costs)."""


def synthetic_images(n: int, channels: int, resolution: int, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, channels, resolution, resolution, generator=g) * 2 - 1
    return Dataset("bench", x, x)


def use_torch_spectral_norm(trainer: GANTrainer) -> None:
    """Wrap every conv/linear layer of D with torch's spectral_norm, the reference implementation."""
    for m in list(trainer.D.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.utils.spectral_norm(m)
    cfg = trainer.cfg
    trainer.opt_d = torch.optim.Adam(trainer.D.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def make_trainer(variant: str, data: Dataset, width: int, batch_size: int, device: str) -> GANTrainer:
    norm = "sn" if variant.startswith("sn") and not variant.startswith("sn_torch") else "none"
    penalty, weight = ("gp", 10.0) if variant.endswith("gp") else ("none", 0.0)
    cfg = GANConfig(
        "sndcgan", normalization=norm, penalty=penalty, penalty_weight=weight,
        width=width, batch_size=batch_size, z_dim=128,
    )
    trainer = GANTrainer(cfg, data, device=device, seed=0)
    if variant.startswith("sn_torch"):
        use_torch_spectral_norm(trainer)
    return trainer


class _OpCounter(TorchDispatchMode):
    """Counts the aten operators dispatched (forward, backward and optimizer): the kernels a GPU
    would launch, which is what per-forward normalisation costs at launch-bound sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def ops_per_step(trainer: GANTrainer) -> int:
    """Operators dispatched by one generator step (with its discriminator steps)."""
    with _OpCounter() as counter:
        trainer.train(1)
    return counter.count


def time_train(trainer: GANTrainer, steps: int) -> float:
    """Seconds for ``train(steps)``; its returned floats sync the device."""
    t0 = time.perf_counter()
    trainer.train(steps)
    return time.perf_counter() - t0


def run_bench(
    variants: Sequence[str] = VARIANTS,
    device: str = "cpu",
    resolution: int = 32,
    channels: int = 3,
    width: int = 8,
    batch_size: int = 16,
    steps: int = 5,
    warmup: int = 2,
    repeats: int = 3,
) -> list[dict]:
    """Rows of ``variant``, ``steps_per_s`` (best of ``repeats``), ``time_vs_none`` and
    ``ops_per_step`` (operators dispatched per step, a hardware-independent cost).

    The variants are timed round-robin, so a machine whose load drifts (shared CPUs, GPU clocks)
    biases none of them.
    """
    data = synthetic_images(max(256, batch_size), channels, resolution)
    trainers = {v: make_trainer(v, data, width, batch_size, device) for v in variants}
    for trainer in trainers.values():
        trainer.train(warmup)
    best = {v: float("inf") for v in variants}
    for _ in range(repeats):
        for v, trainer in trainers.items():
            best[v] = min(best[v], time_train(trainer, steps))
    rows = [
        {"variant": v, "steps_per_s": steps / best[v], "ops_per_step": ops_per_step(trainers[v])}
        for v in variants
    ]
    base = next((r["steps_per_s"] for r in rows if r["variant"] == "none"), None)
    for r in rows:
        r["time_vs_none"] = base / r["steps_per_s"] if base else float("nan")
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--width", type=int, default=8, help="SNDCGAN base width (paper: 64)")
    p.add_argument("--batch-size", type=int, default=16, help="(paper: 64)")
    p.add_argument("--steps", type=int, default=5, help="generator steps per timing")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info(
        "SNDCGAN %dx%dx%d, width %d, batch %d, device %s, %d steps x %d repeats (best)",
        a.channels, a.resolution, a.resolution, a.width, a.batch_size, a.device, a.steps, a.repeats,
    )
    rows = run_bench(
        a.variants, a.device, a.resolution, a.channels, a.width, a.batch_size, a.steps, a.warmup, a.repeats
    )
    print(f"{'variant':<12}{'steps/s':>10}{'time vs none':>14}{'ops/step':>10}")
    for r in rows:
        print(f"{r['variant']:<12}{r['steps_per_s']:>10.2f}{r['time_vs_none']:>13.2f}x{r['ops_per_step']:>10d}")
    by = {r["variant"]: r["steps_per_s"] for r in rows}
    for ours, ref in (("sn", "sn_torch"), ("sn_gp", "sn_torch_gp")):
        if ours in by and ref in by:
            print(f"{ours}: {by[ours] / by[ref]:.2f}x the steps/s of {ref} (torch.nn.utils.spectral_norm)")
    return rows


if __name__ == "__main__":
    main()
