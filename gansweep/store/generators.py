"""The generator each trial scored best with: ``generators/<trial_id>.pt`` in the study directory.

A study answers "which configuration gives the best FID", and the next question is always "show me
its samples" or "give me that model". Each trial therefore keeps the generator of its best
evaluation (the one its ``score`` comes from; the EMA copy where the trial uses one), its
configuration and the state of the evaluation's random stream just before that evaluation, so
:func:`load_generator` rebuilds a generator that draws the very samples that were scored.

The file is written once, when the trial ends (completed or diverged), from the best snapshot the
trial held in memory and in its checkpoints; a retried or re-run trial rewrites it together with
its stored row, so the two always agree. It holds tensors and plain values only and is read with
``torch.load(weights_only=True)``: loading a study from elsewhere runs no code. Dry runs train no
generators.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
from dataclasses import dataclass
from typing import Any

from gansweep.errors import GansweepError
from gansweep.storage import StoragePath, UnsafePathError, atomic_write, child, location

log = logging.getLogger(__name__)

GENERATORS_DIR = "generators"
FORMAT = 1
DRAWN_IMAGES, DRAWN_POINTS = 64, 2000  # what `gansweep samples` and the report draw by default


def generator_path(study_dir: str | StoragePath, trial_id: str) -> StoragePath:
    """``generators/<trial_id>.pt``; ``trial_id`` often comes from a stored row, so it must be an id
    of the plan's grammar (no ``/``, no ``..``): anything else is refused, never joined."""
    from gansweep.study.plan import is_trial_id

    if not is_trial_id(trial_id):
        raise UnsafePathError(f"{str(trial_id)[:80]!r}: not a trial id of this study's plan; refusing to use it "
                              "as a file name")
    return child(location(study_dir) / GENERATORS_DIR, f"{trial_id}.pt")


def drawn_path(study_dir: str | StoragePath, trial_id: str) -> StoragePath:
    """``generators/<trial_id>.samples.npz``: the first samples the kept generator scored, drawn
    when the trial kept it, so that the report and ``gansweep samples`` show them without torch."""
    path = generator_path(study_dir, trial_id)  # refuses an id outside the plan's grammar
    return path.parent / f"{trial_id}.samples.npz"


@dataclass
class DrawnSamples:
    """A kept generator's first scored samples, as :func:`save_drawn` stored them (numpy, no torch)."""

    trial_id: str
    step: int
    score: float
    metric: str
    shape: tuple[int, ...]
    samples: Any  # numpy array (n, *shape)

    def sample(self, n: int) -> Any:
        if n > len(self.samples):
            raise ValueError(f"{n} samples asked, {len(self.samples)} drawn")
        return self.samples[:n]


def save_drawn(study_dir: str | StoragePath, stored: StoredGenerator) -> StoragePath:
    """Draw the default number of samples of ``stored`` (what its evaluation drew first) and store
    them beside the generator: plain arrays, read back with ``allow_pickle=False``. Points keep every
    sample the evaluation scored (at least :data:`DRAWN_POINTS`), and ``scored`` says how many that
    was (-1: not recorded), so the row's point metrics can be recomputed from this file alone."""
    import numpy as np

    scored = stored._draws[0] if stored._draws else -1
    n = max(DRAWN_POINTS, scored) if len(stored.shape) == 1 else DRAWN_IMAGES
    x = stored.sample(n).float().cpu().numpy()
    path = drawn_path(study_dir, stored.trial_id)
    atomic_write(path, lambda f: np.savez(f, samples=x.astype(np.float32), step=np.int64(stored.step),
                                          score=np.float64(stored.score), metric=np.str_(stored.metric),
                                          shape=np.asarray(stored.shape, dtype=np.int64),
                                          scored=np.int64(scored)))
    return path


def load_drawn(study_dir: str | StoragePath, trial_id: str) -> DrawnSamples | None:
    """The drawn samples of ``trial_id``, or None when there are none or they cannot be read (the
    generator is then loaded instead). Never unpickles: a study may come from someone else."""
    import numpy as np

    path = drawn_path(study_dir, trial_id)
    if not path.is_file():
        return None
    try:
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as z:
            x = np.asarray(z["samples"], dtype=np.float32)
            shape = tuple(int(v) for v in z["shape"])
            if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
                raise ValueError(f"samples of shape {x.shape} for a generator of shape {shape}")
            return DrawnSamples(trial_id, int(z["step"]), float(z["score"]), str(z["metric"]), shape, x)
    except Exception as exc:  # damaged or foreign: fall back to the generator
        log.warning("%s: not readable drawn samples (%s: %s); drawing from the generator", path,
                    type(exc).__name__, str(exc)[:200])
        return None


def snapshot(trainer: Any, score: float, metric: str, eval_rng_state: Any,
             draws: tuple[int, int] | None = None) -> dict[str, Any]:
    """What :func:`save_generator` writes, copied to the host now (training goes on after it).

    ``draws`` is how the evaluation drew its samples, ``(samples, batch_size)``: ``batch_size``
    at a time from ``trainer.sample``. Class labels and truncated latents come from the stream
    per call, so only the same calls redraw the same samples (:meth:`StoredGenerator.sample`).
    """
    gen = trainer.generator
    return {
        "format": FORMAT,
        "step": int(trainer.step),
        "score": float(score),
        "metric": metric,
        "gan": {k: (dict(v) if k == "options" else v) for k, v in dataclasses.asdict(trainer.cfg).items()},
        "shape": list(trainer.shape),
        "num_classes": int(trainer.num_classes),
        "truncation": trainer.sampler.truncation,
        "rng_device": trainer.eval_rng.device.type,
        "eval_rng": eval_rng_state.clone().cpu(),
        "draws": None if draws is None else [int(draws[0]), int(draws[1])],
        "state_dict": {k: v.detach().to("cpu", copy=True) for k, v in gen.state_dict().items()},
    }


def save_generator(study_dir: str | StoragePath, trial_id: str, snap: dict[str, Any]) -> StoragePath:
    """Write ``snap`` (from :func:`snapshot`) as the trial's generator, all or nothing."""
    import torch

    path = generator_path(study_dir, trial_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: torch.save({**snap, "trial_id": trial_id}, f))
    return path


@dataclass
class StoredGenerator:
    """A trial's best generator, rebuilt: :meth:`sample` draws what the evaluation drew.

    ``sampler.generator`` is the ``torch.nn.Module`` (in eval mode). :meth:`rewind` puts the
    random stream back where the scored evaluation began (on the device type it was trained on;
    elsewhere the stream is seeded from the trial id and the samples differ); ``sampler`` then
    draws what the evaluation drew only when called as the evaluator called it (``evaluator(sampler)``
    does), which :meth:`sample` does for any ``n``.
    """

    trial_id: str
    step: int
    score: float
    metric: str
    config: Any  # GANConfig
    shape: tuple[int, ...]
    sampler: Any  # gansweep.gan.sampler.Sampler
    _rng_state: Any
    _rng_device: str
    _draws: tuple[int, int] | None = None

    def sample(self, n: int) -> Any:
        """The first ``n`` samples the scored evaluation drew (rewound first, so every call gives them).

        The evaluation called the sampler ``batch_size`` samples at a time: labels and truncated
        latents are drawn per call, so one call of ``n`` would draw other samples. Beyond the
        evaluation's own samples the same calls go on (new samples). At most one call's samples
        more than ``n`` are drawn.
        """
        import torch

        self.rewind()
        total, batch = self._draws or (0, 0)
        if total < 1 or batch < 1:  # a file written before the calls were recorded
            return self.sampler.sample(n)
        out, drawn = [], 0
        while drawn < n:
            for start in range(0, total, batch):
                out.append(self.sampler.sample(min(batch, total - start)))
                drawn += len(out[-1])
                if drawn >= n:
                    break
        return torch.cat(out)[:n] if out else self.sampler.sample(0)

    @property
    def generator(self) -> Any:
        return self.sampler.generator

    def rewind(self) -> None:
        import torch

        if self.sampler.rng.device.type == self._rng_device:
            self.sampler.rng.set_state(self._rng_state.to(torch.uint8))
        else:
            self.sampler.rng.manual_seed(int.from_bytes(self.trial_id.encode()[-8:], "little"))


def load_generator(study_dir: str | StoragePath, trial_id: str, device: str = "cpu") -> StoredGenerator:
    """The stored best generator of ``trial_id``; GansweepError (one line) when there is none."""
    import torch

    from gansweep.gan.archs import ARCHITECTURES
    from gansweep.gan.config import GANConfig
    from gansweep.gan.norms import NORMS
    from gansweep.gan.sampler import Sampler

    path = generator_path(study_dir, trial_id)
    if not path.is_file():
        raise GansweepError(f"{path}: no stored generator for trial {trial_id} (dry runs train none; trials "
                            "that never evaluated a finite score keep none)")
    try:
        raw = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, this gansweep reads {FORMAT}")
        cfg = GANConfig(**raw["gan"])
        shape = tuple(int(s) for s in raw["shape"])
        g, _ = ARCHITECTURES[cfg.architecture](cfg, shape, raw["num_classes"], NORMS[cfg.normalization])
        g.load_state_dict(raw["state_dict"])
    except GansweepError:
        raise
    except Exception as exc:  # a damaged or foreign file: say which, never a traceback
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise GansweepError(f"{path}: not a readable gansweep generator ({type(exc).__name__}: {first})") from None
    dev = torch.device(device)
    g = g.to(dev).requires_grad_(False)
    g.train(False)
    sampler = Sampler(g, cfg.z_dim, cfg.prior, dev, torch.Generator(dev), raw["num_classes"], raw["truncation"])
    stored = StoredGenerator(trial_id, int(raw["step"]), float(raw["score"]), str(raw["metric"]), cfg, shape,
                             sampler, raw["eval_rng"], str(raw["rng_device"]),
                             tuple(int(v) for v in raw["draws"]) if raw.get("draws") else None)
    stored.rewind()
    if not math.isfinite(stored.score):
        log.warning("%s: stored score is not finite", path)
    return stored
