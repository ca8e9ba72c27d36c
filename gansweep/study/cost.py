"""What a plan costs, before it runs: GPU-hours for a study whose trials ask for a GPU
(``resources.gpu`` > 0), CPU-hours (one core's time) for a CPU study.

A trial's time is its generator steps times the time of one generator step, which is ``n_disc``
discriminator steps and one generator step. Two sources of step times:

- **measured**: a CSV of steps/s written by ``gansweep bench --csv`` on the GPUs (or, for a CPU
  study, the CPUs, ``--device cpu``) the study will use (columns ``architecture``, ``resolution``, ``penalty``, ``steps_per_s``; where present,
  ``batch_size`` and ``width`` must equal the study's, ``kind``/``variant``/``processes`` select the
  trainer's own single-process rows, and ``n_disc``/``normalization`` pick the closest row);
- **estimated** (no CSV): the floating-point work of gansweep's own networks, counted with
  ``torch.utils.flop_counter`` at the study's width and batch size, at a sustained rate
  (default 30 TFLOP/s, A100/H100 class in TF32), and never faster than the launch-bound rate of
  small models (6.5 ms an optimizer step: issue #9's naive eager SNDCGAN-32 ran 77 D+G steps/s on an
  H100). One D step is G forward + D forward on real and fake + D backward (G + 6 D); a gradient
  penalty (gp, dragan, r1) adds a double backward (about 4 D); one G step is 3 (G + D).
  On a CPU (a study with ``resources.gpu: 0``) the rate is one core's, measured with
  ``gansweep bench --device cpu --architecture dcgan --resolution 16`` (width 64, batch 64) on a
  2-core x86-64 VM: 0.89 steps/s of 16.9 GFLOP, 15 GFLOP/s (load average 5 while it ran: an idle
  core does better). Small networks are bound by per-step overhead instead: 1.7 ms an optimizer
  step, twice that with a gradient penalty, which prices the demo at the 3.8 CPU-minutes it takes
  (1 min 54 s on 2 idle cores; 2-D points are trained on the CPU, priced the same way).

``n_disc`` per trial is exact for table1 and the mean of the space for searched entries; so is
``pack`` (PacGAN), priced by the FLOP model only (a bench CSV measures unpacked discriminators).
Evaluation is not counted (10k samples through Inception is seconds; under 1 % of a trial).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gansweep.errors import StudyError, path_error
from gansweep.gan.specs import DEFAULT_HPS, HP_SPECS, PENALTY_SPECS
from gansweep.study.plan import Plan, PlanEntry, table1_settings
from gansweep.study.schema import Choice, Range, Table1
from gansweep.study.stopping import expected_fraction

TFLOPS = 30.0
LAUNCH_SECONDS = 1 / 154  # per optimizer step, launch-bound: 77 (D + G) steps/s
CPU_TFLOPS = 0.015  # one core, measured (module docstring)
CPU_STEP_SECONDS = 1 / 600  # per optimizer step of a small network on one core (module docstring)


@dataclass(frozen=True)
class Device:
    """What a study's trials run on, as priced: 'GPU'-hours or 'CPU'-hours (one core's time)."""

    name: str
    tflops: float  # sustained rate of one device
    step_seconds: float  # per optimizer step of a small network: the floor of the estimate
    penalty_floor: float  # how much a gradient penalty's double backward multiplies that floor


DEVICES = {"gpu": Device("GPU", TFLOPS, LAUNCH_SECONDS, 1.0),
           "cpu": Device("CPU", CPU_TFLOPS, CPU_STEP_SECONDS, 2.0)}


def device_of(plan: Plan) -> Device:
    """A study that asks for no GPU runs on CPUs and is priced in CPU-hours."""
    return DEVICES["gpu" if plan.study.resources.gpu > 0 else "cpu"]


@dataclass(frozen=True)
class CellCost:
    cell: str
    trials: int
    hours: float | None  # device-hours; None: the size of its data set is not known before loading it


@dataclass(frozen=True)
class Cost:
    cells: list[CellCost]
    source: str  # how step times were obtained, for the user
    device: str  # "GPU" or "CPU": what the hours are of

    @property
    def hours(self) -> float:
        return sum(c.hours or 0.0 for c in self.cells)


def mean_n_disc(entry: PlanEntry) -> float:
    """Average discriminator steps per generator step over the entry's trials."""
    if isinstance(entry.search, Table1):
        settings = table1_settings(entry.cell)
        return sum(s["n_disc"] for s in settings) / len(settings)
    dim = entry.space().get("n_disc")
    if isinstance(dim, Choice):
        return sum(dim.choices) / len(dim.choices)
    if isinstance(dim, Range):
        return (dim.low + dim.high) / 2
    return float(DEFAULT_HPS["n_disc"])


def mean_pack(entry: PlanEntry) -> float:
    """Average packing over the entry's trials (1 where its space does not set ``pack``)."""
    dim = entry.space().get("pack")
    if isinstance(dim, Choice):
        return sum(dim.choices) / len(dim.choices)
    if isinstance(dim, Range):
        return (dim.low + dim.high) / 2
    return float(HP_SPECS["pack"].default)


def sample_shape(dataset: str, resolution: int | None) -> tuple[int, ...] | None:
    """The shape of one sample without loading the data set: (2,) for 2-D points, else the image's."""
    from gansweep.data.specs import POINT_DATASETS

    if dataset in POINT_DATASETS:
        return (2,)  # ring8 and grid25 are 2-D mixtures
    image = image_shape(dataset, resolution)
    return None if image is None else (image[0], image[1], image[1])


def image_shape(dataset: str, resolution: int | None) -> tuple[int, int] | None:
    """(channels, side) of a data set's images without loading it; None for points or unknown sizes."""
    from gansweep.data.specs import DATA_SPECS, POINT_DATASETS

    if dataset in POINT_DATASETS:
        return None
    spec = DATA_SPECS.get(dataset)
    if spec is not None and spec.side is not None:
        return spec.channels, resolution or spec.side
    return (3, resolution) if resolution else None


class FlopModel:
    """Seconds per generator step from counted FLOPs (cached per architecture and image shape)."""

    def __init__(self, plan: Plan, tflops: float | None = None, device: Device | None = None) -> None:
        self.plan, self.device = plan, device or device_of(plan)
        self.tflops = tflops or self.device.tflops
        self._flops: dict[tuple[str, tuple[int, ...]], tuple[float, float]] = {}

    def forward_flops(self, arch: str, shape: tuple[int, ...], pack: int = 1) -> tuple[float, float]:
        """FLOPs of one forward of G (``batch_size``·pack samples) and of D (``batch_size`` packs)."""
        key = (arch, shape, pack)
        if key not in self._flops:
            self._flops[key] = _count(arch, shape, self.plan, pack)
        return self._flops[key]

    def step_seconds(self, arch: str, shape: tuple[int, ...], penalty: str, n_disc: float,
                     pack: float = 1) -> float:
        """Seconds per generator step; a fractional ``pack`` (the mean of a searched one) interpolates."""
        low, high = math.floor(pack), math.ceil(pack)
        if low != high:
            w = pack - low
            return ((1 - w) * self.step_seconds(arch, shape, penalty, n_disc, low)
                    + w * self.step_seconds(arch, shape, penalty, n_disc, high))
        g, d = self.forward_flops(arch, shape, int(pack))
        penalised = PENALTY_SPECS[penalty].input_gradient
        d_step = g + 6 * d + (4 * d if penalised else 0.0)
        flops = n_disc * d_step + 3 * (g + d)
        floor = (n_disc * (self.device.penalty_floor if penalised else 1.0) + 1) * self.device.step_seconds
        return max(flops / (self.tflops * 1e12), floor)


def _count(arch: str, shape: tuple[int, ...], plan: Plan, pack: int = 1) -> tuple[float, float]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from gansweep.gan import ARCHITECTURES, NORMS, GANConfig

    t = plan.study.training
    cfg = GANConfig(architecture=arch, loss="ns", penalty="none", normalization="none", z_dim=t.z_dim,
                    batch_size=t.batch_size, width=t.width, pack=pack, options=dict(t.options))
    batch = 2  # FLOPs scale with the batch: count a small one (BN needs more than one sample)
    with torch.device("meta"), torch.no_grad():  # shapes only: nothing is computed or allocated
        g, d = ARCHITECTURES[arch](cfg, shape, 0, NORMS["none"])
        g.eval(), d.eval()
        with FlopCounterMode(display=False) as count_g:
            x = g(torch.zeros(batch * pack, t.z_dim))  # D scores ``batch`` packs of ``pack``
        with FlopCounterMode(display=False) as count_d:
            d(x)
    scale = t.batch_size / batch
    return count_g.get_total_flops() * scale, count_d.get_total_flops() * scale


class MeasuredRates:
    """Steps/s per (architecture, resolution, penalty[, n_disc, normalization]) from a bench CSV."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            with self.path.open(newline="") as f:
                rows = list(csv.DictReader(f))
        except OSError as exc:
            raise path_error(f"{path}: cannot read the rates file ({exc.strerror})", exc, StudyError) from None
        except (UnicodeDecodeError, csv.Error):
            raise StudyError(f"{path}: not a CSV text file; write one with 'gansweep bench --csv'") from None
        need = {"architecture", "resolution", "penalty", "steps_per_s"}
        missing = need - set(rows[0] if rows else {})
        if missing:
            raise StudyError(f"{path}: a rates file needs the columns {', '.join(sorted(need))} "
                             f"(missing {', '.join(sorted(missing))}); write one with 'gansweep bench --csv'")
        # Only gansweep's own single-process training rows price a study: bench writes overhead rows
        # (no steps_per_s) and naive-loop rows beside them, and its own CSV must be accepted whole.
        self.rows = []
        for i, r in enumerate(rows, start=2):
            if not (r.get("variant", "gansweep") in ("gansweep", "") and r.get("kind", "train") in ("train", "")
                    and r.get("processes", "1") in ("1", "")):
                continue
            try:
                ok = int(r["resolution"]) > 0 and math.isfinite(float(r["steps_per_s"])) and float(r["steps_per_s"]) > 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise StudyError(f"{path}: line {i}: resolution must be a positive integer and steps_per_s a "
                                 "positive number; write the file with 'gansweep bench --csv'")
            self.rows.append(r)

    def step_seconds(self, arch: str, shape: tuple[int, ...], penalty: str, normalization: str,
                     n_disc: float, batch_size: int, width: int) -> float | None:
        if len(shape) != 3:
            return None  # 'gansweep bench' times images
        def score(r: dict[str, Any]) -> int:
            return (r.get("normalization") == normalization) + 2 * _close(r.get("n_disc"), n_disc)

        rows = [r for r in self.rows if r["architecture"] == arch and int(r["resolution"]) == shape[1]
                and r["penalty"] == penalty and _same(r.get("batch_size"), batch_size) and _same(r.get("width"), width)]
        if not rows:
            return None
        best = max(rows, key=score)
        rate = float(best["steps_per_s"])  # generator steps per second at the row's n_disc
        measured_nd = float(best.get("n_disc") or 1)
        return (n_disc + 1) / (measured_nd + 1) / rate  # D and G steps cost about the same


def _same(value: Any, wanted: int) -> bool:
    """A column the CSV may lack (then anything goes) that must otherwise equal the study's."""
    return value in (None, "") or int(float(value)) == wanted


def _close(value: Any, n_disc: float) -> bool:
    try:
        return abs(float(value) - n_disc) < 0.5
    except (TypeError, ValueError):
        return False


def plan_cost(plan: Plan, rates: str | Path | None = None, tflops: float | None = None) -> Cost:
    """GPU- or CPU-hours of every cell of ``plan`` (rates measured where the CSV has them, else
    estimated at ``tflops`` per device, by default the device's measured rate)."""
    model = FlopModel(plan, tflops)
    rate = format_rate(model.tflops, model.device)
    measured = MeasuredRates(rates) if rates else None
    used = set()
    per_cell: dict[str, tuple[int, float | None]] = {}
    steps = plan.study.training.steps
    for e in plan.entries:
        c = e.cell
        shape = sample_shape(c.dataset, plan.study.training.resolution)
        seconds = None
        if shape is not None:
            nd = mean_n_disc(e)
            if measured is not None and mean_pack(e) == 1:
                t = plan.study.training
                seconds = measured.step_seconds(c.architecture, shape, c.penalty, c.normalization, nd,
                                                t.batch_size, t.width)
                used.add("measured" if seconds is not None else "estimated")
            if seconds is None:
                seconds = model.step_seconds(c.architecture, shape, c.penalty, nd, mean_pack(e))
        trials, hours = per_cell.get(c.id, (0, 0.0))
        used_steps = steps * expected_fraction(getattr(e.search, "stopping", None), plan.study.training)
        hours = None if seconds is None or hours is None else hours + e.trials * used_steps * seconds / 3600
        per_cell[c.id] = (trials + e.trials, hours)
    if measured is None:
        source = f"estimated from counted FLOPs at {rate}; measure with 'gansweep bench --csv' " \
                 "and pass --rates"
    elif "measured" not in used:
        t = plan.study.training
        source = (f"estimated from counted FLOPs at {rate}: no row of {measured.path} matches the "
                  f"study's architectures, resolutions and penalties at batch size {t.batch_size}, width {t.width}")
    else:
        source = f"steps/s from {measured.path}" + (" (FLOP estimate where it has no row)"
                                                     if "estimated" in used else "")
    return Cost([CellCost(cid, n, h) for cid, (n, h) in per_cell.items()], source, model.device.name)


def confirm_cost(plan: Plan, top: int, seeds: int, rates: str | Path | None = None,
                 tflops: float | None = None) -> Cost:
    """Device-hours of the confirmation stage (docs/CONFIRM.md): per cell and entry, up to ``top``
    configurations × ``seeds`` trials, each trained the whole ``training.steps`` (no stopping rule)
    at the entry's mean ``n_disc`` and ``pack``; its one evaluation is not counted, as the search's are not."""
    model = FlopModel(plan, tflops)
    measured = MeasuredRates(rates) if rates else None
    t = plan.study.training
    per_cell: dict[str, tuple[int, float | None]] = {}
    for e in plan.entries:
        c = e.cell
        n = min(top, e.trials) * seeds
        shape = sample_shape(c.dataset, t.resolution)
        seconds = None
        if shape is not None:
            nd = mean_n_disc(e)
            if measured is not None and mean_pack(e) == 1:
                seconds = measured.step_seconds(c.architecture, shape, c.penalty, c.normalization, nd,
                                                t.batch_size, t.width)
            if seconds is None:
                seconds = model.step_seconds(c.architecture, shape, c.penalty, nd, mean_pack(e))
        trials, hours = per_cell.get(c.id, (0, 0.0))
        hours = None if seconds is None or hours is None else hours + n * t.steps * seconds / 3600
        per_cell[c.id] = (trials + n, hours)
    return Cost([CellCost(cid, n, h) for cid, (n, h) in per_cell.items()], "as the search's", model.device.name)


def format_rate(tflops: float, device: Device) -> str:
    """'30 TFLOP/s' on a GPU, '15 GFLOP/s a core' on a CPU."""
    rate = f"{tflops:g} TFLOP/s" if tflops >= 1 else f"{tflops * 1000:g} GFLOP/s"
    return rate + (" a core" if device.name == "CPU" else "")


def format_hours(hours: float | None) -> str:
    if hours is None:
        return "?"
    if hours < 1:
        return f"{hours * 60:.0f} min" if hours * 60 >= 1 else "<1 min"
    return f"{hours:,.0f}" if hours >= 100 else f"{hours:.1f}" if not math.isnan(hours) else "?"
