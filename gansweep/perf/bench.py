"""One benchmark run: every variant of a model timed in the same process, packed runs, evaluation.

Ratios against the naive baseline measured in the same run are what count; absolute figures
depend on the machine (issue 9). Variants are timed round-robin, best of ``repeats``, so a load
that drifts (shared CPUs, GPU clocks) biases none of them. Each row is one figure:

- ``train``: steps/s of one process (a step is one D and one G step), ``vs_naive`` its ratio to
  the baseline, ``ops_per_step`` the aten operators it dispatches (what a GPU launches; a
  hardware-independent cost, not counted for compiled variants);
- ``pack``: aggregate steps/s of ``processes`` trainings at once on the device;
- ``overhead``: extra step time of spectral normalization (gansweep's and torch's) and of the
  penalty, against the same loop without it;
- ``eval``: seconds for one evaluation of ``samples`` generated samples (generation, Inception
  features, Fréchet distance), reference statistics already computed, as a trial pays it.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from rich.table import Table
from torch.utils._python_dispatch import TorchDispatchMode

from gansweep.errors import GansweepError
from gansweep.gan.specs import AXIS_SPECS
from gansweep.metrics.specs import KEY_FID
from gansweep.perf.pack import packed_steps_per_s
from gansweep.perf.variants import (
    NAIVE,
    OURS,
    TOGGLES,
    BenchSpec,
    Stepper,
    Variant,
    default_toggles,
    sync,
    variants,
)

log = logging.getLogger(__name__)

COLUMNS = (
    "kind", "variant", "processes", "steps_per_s", "ms_per_step", "vs_naive", "overhead", "ops_per_step",
    "samples", "seconds", "description", "device", *AXIS_SPECS, "batch_size", "resolution", "width", "z_dim",
    "steps", "repeats", "threads", "torch",
)


@dataclass(frozen=True)
class BenchPlan:
    """What one run measures on ``spec``."""

    spec: BenchSpec
    steps: int = 50
    warmup: int = 10
    repeats: int = 3
    toggles: list[str] = field(default_factory=list)
    packs: list[int] = field(default_factory=list)
    eval_samples: int = 0
    eval_batch_size: int = 200
    inception_weights: str | None = None
    compile_backend: str = "inductor"

    def checked(self) -> BenchPlan:
        """This plan with its device resolved (empty: CUDA if there) and its toggles chosen (none
        given: those that matter on the device, :func:`default_toggles`; ``none``: no switches);
        bad input is refused with one line before anything is timed."""
        from gansweep.metrics.inception import find_inception_weights

        device = self.spec.device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            kind = torch.device(device).type
        except RuntimeError:
            raise GansweepError(f"--device {device!r} is not a device; use cpu, cuda or cuda:N") from None
        if kind not in ("cpu", "cuda"):
            raise GansweepError(f"--device {device!r}: only cpu and cuda are benchmarked")
        if kind == "cuda" and not torch.cuda.is_available():
            raise GansweepError(f"--device {device!r}: no CUDA device on this machine")
        spec = replace(self.spec, device=device)
        spec.config()  # names and numbers, checked by the config
        toggles = default_toggles(device) if not self.toggles else [t for t in self.toggles if t != "none"]
        for name in toggles:
            TOGGLES[name]  # unknown: one line with the names
        if self.eval_samples == 1:
            raise GansweepError("--eval-samples must be 0 (no evaluation) or at least 2")
        if self.eval_samples:
            find_inception_weights(self.inception_weights)  # a named file that is missing
        return replace(self, spec=spec, toggles=toggles)


def run(plan: BenchPlan) -> list[dict[str, Any]]:
    """All rows of one run (see the module docstring), each with the setting's columns."""
    spec = plan.spec
    with _threads(spec.threads):
        chosen = variants(spec, plan.toggles, plan.compile_backend)
        rates, ops = _time_round_robin(spec, chosen, plan)
        naive = rates[NAIVE]
        rows = [_train_row(v, rates[v.name], naive, ops.get(v.name)) for v in chosen]
        rows += _overhead_rows(spec, rates)
        for n in plan.packs:
            packed = packed_steps_per_s(spec, [NAIVE, OURS], n, plan.steps, plan.warmup, plan.compile_backend)
            rows += [{"kind": "pack", "variant": f"{name} x{n}", "processes": n, "steps_per_s": rate,
                      "vs_naive": rate / naive, "description": f"{n} processes of '{name}' at once"}
                     for name, rate in packed.items()]
        if plan.eval_samples:
            rows.append(_eval_row(plan))
    common = {**_setting(spec), "steps": plan.steps, "repeats": plan.repeats}
    return [{c: {**common, **r}.get(c, "") for c in COLUMNS} for r in rows]


def _setting(spec: BenchSpec) -> dict[str, Any]:
    keep = (*AXIS_SPECS, "batch_size", "resolution", "width", "z_dim", "threads")
    s = {k: v for k, v in asdict(spec).items() if k in keep}
    return {**s, "device": device_label(spec.device), "torch": torch.__version__}


def device_label(device: str) -> str:
    d = torch.device(device)
    return f"{device} ({torch.cuda.get_device_name(d)})" if d.type == "cuda" else device


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _time_round_robin(spec: BenchSpec, chosen: list[Variant], plan: BenchPlan) -> tuple[dict, dict]:
    """Best steps/s of each variant over ``repeats`` round-robin timings, and its ops per step."""
    steppers: dict[str, Stepper] = {}
    for v in chosen:
        steppers[v.name] = v.build(spec)
        steppers[v.name].run(plan.warmup)  # allocations, cuDNN autotuning, compilation
    best = dict.fromkeys(steppers, math.inf)
    for _ in range(plan.repeats):
        for name, stepper in steppers.items():
            sync(spec.device)
            t0 = time.perf_counter()
            stepper.run(plan.steps)
            sync(spec.device)
            best[name] = min(best[name], time.perf_counter() - t0)
            log.info("%s: %d steps in %.3fs", name, plan.steps, time.perf_counter() - t0)
    ops = {v.name: ops_per_step(steppers[v.name]) for v in chosen if not v.compiled}
    return {name: plan.steps / s for name, s in best.items()}, ops


class _OpCounter(TorchDispatchMode):
    """Counts the aten operators dispatched (forward, backward, optimizer)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def ops_per_step(stepper: Stepper) -> int:
    """Operators one training step dispatches: the kernels a GPU would launch."""
    with _OpCounter() as counter:
        stepper.run(1)
    return counter.count


def _train_row(v: Variant, rate: float, naive: float, ops: int | None) -> dict[str, Any]:
    return {"kind": "train", "variant": v.name, "processes": 1, "steps_per_s": rate, "ms_per_step": 1000 / rate,
            "vs_naive": rate / naive, "ops_per_step": "" if ops is None else ops, "description": v.description}


OVERHEADS = (
    ("sn", OURS, f"{OURS} norm=none",
     ("gansweep's spectral norm (one power iteration per step, weights normalised once per step)")),
    ("sn", NAIVE, f"{NAIVE} norm=none", "torch.nn.utils.spectral_norm in the naive loop"),
    ("penalty", OURS, f"{OURS} penalty=none", "the penalty in gansweep's trainer"),
)
"""(what, loop, the same loop without it, description) of each overhead row."""


def _overhead_rows(spec: BenchSpec, rates: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for what, with_it, without, description in OVERHEADS:
        if with_it in rates and without in rates:
            label = spec.normalization if what == "sn" else spec.penalty
            rows.append({"kind": "overhead", "variant": f"{label} overhead ({with_it})",
                         "overhead": rates[without] / rates[with_it] - 1, "description": description})
    return rows


def _eval_row(plan: BenchPlan) -> dict[str, Any]:
    seconds, weights_label = eval_seconds(plan)
    return {"kind": "eval", "variant": "eval fid", "samples": plan.eval_samples, "seconds": seconds,
            "description": f"generation + Inception features + Fréchet distance ({weights_label} weights)"}


def eval_seconds(plan: BenchPlan) -> tuple[float, str]:
    """Seconds of one FID evaluation of ``eval_samples`` samples of an untrained generator.

    Without an Inception weights file (``inception_weights``, the environment, torch-fidelity's
    cache) a randomly initialised one is used: the same network and time, a meaningless FID.
    """
    from gansweep.gan.trainer import GANTrainer
    from gansweep.metrics import Evaluator
    from gansweep.metrics.inception import find_inception_weights, write_random_inception_weights

    spec, n = plan.spec, plan.eval_samples
    data = replace(spec, data_size=n).data()
    data = replace(data, test=data.train)
    trainer = GANTrainer(spec.config(), data, device=spec.device, seed=0)
    with tempfile.TemporaryDirectory(prefix="gansweep-bench-") as tmp:
        weights, label = find_inception_weights(plan.inception_weights), "real"
        if weights is None:
            weights, label = write_random_inception_weights(Path(tmp) / "random-inception.pth"), "random-init"
        evaluator = Evaluator(data, [KEY_FID], n, device=spec.device, cache_dir=tmp, inception_weights=str(weights),
                              options={"batch_size": plan.eval_batch_size})
        if torch.device(spec.device).type == "cuda":
            evaluator(trainer)  # warm-up: cuDNN autotuning, the caching allocator
            sync(spec.device)
        t0 = time.perf_counter()
        evaluator(trainer)
        sync(spec.device)
        return time.perf_counter() - t0, label


def write_csv(rows: list[dict[str, Any]], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _fmt(value: Any, spec: str) -> str:
    return "" if value == "" else format(value, spec)


def table(rows: list[dict[str, Any]]) -> Table:
    """The rows as a rich table (what ``gansweep bench`` prints)."""
    first = rows[0]
    t = Table(title=f"{first['architecture']} {first['loss']}/{first['penalty']}/{first['normalization']}, "
                    f"batch {first['batch_size']}, {first['resolution']}x{first['resolution']}, width "
                    f"{first['width']}, {first['device']}, {first['steps']} steps x {first['repeats']} (best)")
    for col in ("variant", "procs", "steps/s", "ms/step", "x naive", "overhead", "ops/step", "eval s"):
        t.add_column(col, justify="left" if col == "variant" else "right")
    for r in rows:
        overhead = "" if r["overhead"] == "" else f"{100 * r['overhead']:+.1f} %"
        t.add_row(r["variant"], str(r["processes"]), _fmt(r["steps_per_s"], ".2f"), _fmt(r["ms_per_step"], ".2f"),
                  _fmt(r["vs_naive"], ".2f"), overhead, str(r["ops_per_step"]), _fmt(r["seconds"], ".3f"))
    return t
