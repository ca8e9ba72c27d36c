"""What ``gansweep bench`` times: a model setting, and the loops and speed-up switches run on it.

A :class:`BenchSpec` is one model (architecture, loss, penalty, normalization, sizes, device);
:func:`build` turns it and a variant into a :class:`Stepper` that runs training steps and
returns after the device has finished them. Variants are the naive baseline, gansweep's trainer
with its defaults, both without normalization or penalty (for their overhead), and the trainer
with one speed-up switched (:data:`TOGGLES`): off where it is on by default, on where it is off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from gansweep.data import Dataset
from gansweep.gan.config import GANConfig
from gansweep.gan.trainer import GANTrainer
from gansweep.perf.naive import NaiveLoop
from gansweep.registry import Registry

PENALTY_WEIGHT = 10.0
"""λ for a penalty (WGAN-GP's value); it does not change the cost of a step."""


@dataclass(frozen=True)
class BenchSpec:
    """One model setting to time; picklable, so packed processes rebuild it."""

    architecture: str = "sndcgan"
    loss: str = "ns"
    penalty: str = "none"
    normalization: str = "sn"
    batch_size: int = 64
    resolution: int = 32
    channels: int = 3
    width: int = 64
    z_dim: int = 128
    device: str = "cpu"
    threads: int = 1
    data_size: int = 1024
    options: dict[str, Any] = field(default_factory=dict)

    def config(self, **overrides: Any) -> GANConfig:
        """The GAN of this setting (``overrides``: normalization, penalty, options)."""
        penalty = overrides.get("penalty", self.penalty)
        return GANConfig(
            self.architecture, loss=self.loss, penalty=penalty,
            normalization=overrides.get("normalization", self.normalization),
            penalty_weight=0.0 if penalty == "none" else PENALTY_WEIGHT, batch_size=self.batch_size,
            width=self.width, z_dim=self.z_dim, options={**self.options, **overrides.get("options", {})},
        )

    def data(self) -> Dataset:
        """Uniform noise images in [−1, 1] (the content does not change a step's cost)."""
        g = torch.Generator().manual_seed(0)
        shape = (max(self.data_size, self.batch_size), self.channels, self.resolution, self.resolution)
        x = torch.rand(shape, generator=g) * 2 - 1
        return Dataset("bench", x, x[:1])


def sync(device: str) -> None:
    """Wait for the device's queued work (timings end here)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


class Stepper(Protocol):
    def run(self, steps: int) -> None:
        """``steps`` training steps, returning once the device has finished them."""


class TrainerStepper:
    """gansweep's trainer; ``train`` reads its losses back at the end, which syncs the device."""

    def __init__(self, cfg: GANConfig, spec: BenchSpec) -> None:
        self.trainer = GANTrainer(cfg, spec.data(), device=spec.device, seed=0)

    def run(self, steps: int) -> None:
        self.trainer.train(steps)


class NaiveStepper:
    """The baseline; its ``.item()`` per step syncs the device."""

    def __init__(self, cfg: GANConfig, spec: BenchSpec) -> None:
        self.loop = NaiveLoop(cfg, spec.data(), device=spec.device, seed=0)

    def run(self, steps: int) -> None:
        self.loop.run(steps)


@dataclass(frozen=True)
class Variant:
    """A loop (``make``) on the spec's model changed by ``overrides`` (see :meth:`BenchSpec.config`)."""

    name: str
    description: str
    make: Callable[[GANConfig, BenchSpec], Stepper]
    overrides: dict[str, Any] = field(default_factory=dict)
    compiled: bool = False

    def build(self, spec: BenchSpec) -> Stepper:
        return self.make(spec.config(**self.overrides), spec)


@dataclass(frozen=True)
class Toggle:
    """One speed-up of the trainer (:mod:`gansweep.gan.speed`) and the options that flip it."""

    options: dict[str, Any]
    on_by_default: bool
    devices: tuple[str, ...] = ("cpu", "cuda")
    """Devices where the switch changes anything (or, for compile on CPU, is worth minutes)."""
    compiled: bool = False


TOGGLES: Registry[Toggle] = Registry("speed-up")
TOGGLES.add("batched_checks", Toggle({"check_every": 1}, True))
TOGGLES.add("fused_adam", Toggle({"adam": "foreach"}, True))
TOGGLES.add("device_data", Toggle({"device_data_gb": 0.0}, True, ("cuda",)))
TOGGLES.add("cudnn_benchmark", Toggle({"cudnn_benchmark": False}, True, ("cuda",)))
TOGGLES.add("tf32", Toggle({"tf32": False}, True, ("cuda",)))
TOGGLES.add("compile", Toggle({"compile": True}, False, ("cuda",), compiled=True))
TOGGLES.add("cuda_graphs", Toggle({"compile": True, "compile_mode": "reduce-overhead"}, False, ("cuda",),
                                  compiled=True))

NAIVE, OURS = "naive", "gansweep"


def toggle_variant(name: str, compile_backend: str = "inductor") -> Variant:
    """The trainer with speed-up ``name`` switched from its default."""
    t = TOGGLES[name]
    options = {**t.options, **({"compile_backend": compile_backend} if t.compiled else {})}
    state = "off" if t.on_by_default else "on"
    return Variant(f"{OURS} {name}={state}", f"gansweep's trainer with {name} {state}",
                   TrainerStepper, {"options": options}, compiled=t.compiled)


def default_toggles(device: str) -> list[str]:
    """The speed-ups worth switching on ``device``'s kind."""
    kind = torch.device(device).type
    return [name for name in TOGGLES if kind in TOGGLES[name].devices]


def variants(spec: BenchSpec, toggles: list[str], compile_backend: str = "inductor") -> list[Variant]:
    """The baseline and the trainer, their no-normalization / no-penalty references, the toggles."""
    out = [Variant(NAIVE, "naive eager loop (torch spectral_norm, default Adam, .item() per step)", NaiveStepper),
           Variant(OURS, "gansweep's trainer, default options", TrainerStepper)]
    if spec.normalization != "none":
        out += [Variant(f"{NAIVE} norm=none", "naive loop without normalization", NaiveStepper,
                        {"normalization": "none"}),
                Variant(f"{OURS} norm=none", "gansweep without normalization", TrainerStepper,
                        {"normalization": "none"})]
    if spec.penalty != "none":
        out.append(Variant(f"{OURS} penalty=none", "gansweep without the penalty", TrainerStepper,
                           {"penalty": "none"}))
    return out + [toggle_variant(name, compile_backend) for name in toggles]


def by_name(spec: BenchSpec, name: str, compile_backend: str = "inductor") -> Variant:
    """One variant by its row name (what a packed process is told to build)."""
    found = {v.name: v for v in variants(spec, list(TOGGLES), compile_backend)}
    return found[name]

