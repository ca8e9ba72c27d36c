"""The trainer's speed-ups: one training option each, and what each switches on in torch.

A small GAN (SNDCGAN at 32×32, batch 64) leaves a GPU launch-bound: a step is hundreds of tiny
kernels, so what costs is host work and host–device synchronisation, not FLOPs (issue 9). Every
speed-up is a key of ``training.options`` (checked with the architecture's options) so that
``gansweep bench`` can switch each one off or on and show which pay:

- ``check_every`` (K = 50): generator steps between divergence checks, the only host syncs of a
  ``train`` call besides its end. A non-finite loss or weight is noticed at most K − 1 steps
  after it appears (or at the end of the call); K = 1 syncs every step, as a naive loop does.
- ``adam`` (``fused``): one multi-tensor kernel per optimizer step; ``foreach`` or ``loop``
  (torch's per-parameter reference) for comparison.
- ``cudnn_benchmark``, ``tf32`` (on): cuDNN autotuning and TF32 matmuls, CUDA only. They are set
  around each ``train`` call and restored after it, so evaluation (FID features) stays in full
  fp32 and nothing leaks into the rest of the process.
- ``device_data_gb`` (2.0): a train split up to this size is held on the device and batches are
  drawn there (on-device indices, no copy per step); a larger one stays in host memory and each
  batch is gathered there with a host-side generator and copied asynchronously (pinned on CUDA).
- ``compile`` (off), ``compile_mode``, ``compile_backend``: ``torch.compile`` of the D and G
  objectives (forwards, loss, penalty); ``compile_mode: reduce-overhead`` replays them as CUDA
  graphs. Off by default until a GPU run shows they pay (``docs/PERFORMANCE.md``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from gansweep.gan.specs import ADAM_IMPLS, SPEED_OPTIONS


@dataclass(frozen=True)
class Speedups:
    """The speed-up options of one trainer, read from its resolved options."""

    check_every: int = SPEED_OPTIONS["check_every"]
    adam: str = SPEED_OPTIONS["adam"]
    cudnn_benchmark: bool = SPEED_OPTIONS["cudnn_benchmark"]
    tf32: bool = SPEED_OPTIONS["tf32"]
    device_data_gb: float = SPEED_OPTIONS["device_data_gb"]
    compile: bool = SPEED_OPTIONS["compile"]
    compile_mode: str = SPEED_OPTIONS["compile_mode"]
    compile_backend: str = SPEED_OPTIONS["compile_backend"]

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Speedups:
        return cls(**{k: options[k] for k in SPEED_OPTIONS if k in options})

    def adam_kwargs(self) -> dict[str, bool]:
        return dict(ADAM_IMPLS[self.adam])

    def compiled(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` compiled when ``compile`` is on, else ``fn`` itself."""
        if not self.compile:
            return fn
        mode = None if self.compile_mode == "default" else self.compile_mode
        return torch.compile(fn, mode=mode, backend=self.compile_backend, dynamic=False)

    def holds_on_device(self, data: torch.Tensor) -> bool:
        """Whether a train split this size lives on the training device."""
        return data.numel() * data.element_size() <= self.device_data_gb * 2**30

    @contextlib.contextmanager
    def cuda_flags(self, device: torch.device) -> Iterator[None]:
        """cuDNN autotuning and TF32 matmuls as configured, restored on exit; nothing off CUDA."""
        if device.type != "cuda":
            yield
            return
        cudnn = torch.backends.cudnn
        before = cudnn.benchmark, cudnn.allow_tf32, torch.get_float32_matmul_precision()
        cudnn.benchmark, cudnn.allow_tf32 = self.cudnn_benchmark, self.tf32
        torch.set_float32_matmul_precision("high" if self.tf32 else "highest")
        try:
            yield
        finally:
            cudnn.benchmark, cudnn.allow_tf32 = before[:2]
            torch.set_float32_matmul_precision(before[2])
