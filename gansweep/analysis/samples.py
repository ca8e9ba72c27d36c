"""Samples of the generators a study kept: an image grid per trial, or a scatter for 2-D data.

Scores rank configurations; looking at samples is how a GAN researcher checks that a low FID is
not an artefact (mode collapse shows at a glance on ``ring8``). By default the best trial of each
cell is drawn, from the generator of its best evaluation (:mod:`gansweep.store.generators`), with
the evaluation's own random stream: the images are the first samples that were scored.
"""

from __future__ import annotations

import logging
import math
import numbers
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gansweep.analysis.figures.common import save_figure
from gansweep.analysis.loading import check_study_dir, output_dir, ranked, read_dry_run
from gansweep.errors import GansweepError
from gansweep.storage import StoragePath
from gansweep.store import read_trials
from gansweep.store.generators import DRAWN_IMAGES, DRAWN_POINTS
from gansweep.store.studydir import SAMPLES_DIR

log = logging.getLogger(__name__)

# IMAGES: an 8 x 8 grid; POINTS: enough to see every mode of a 2-D mixture. A trial stores this many
# beside its generator when it keeps it, so the default picture needs no torch.
IMAGES, POINTS = DRAWN_IMAGES, DRAWN_POINTS
MAX_IMAGES, MAX_POINTS = 1024, 100_000  # -n beyond: a 32 x 32 grid in 8 inches, a scatter of 100k points
REAL_COLOUR, FAKE_COLOUR = "#111111", "#56b4e9"


def choose_trials(trials: pd.DataFrame, trial_ids: list[str] | None = None, top: int | None = None,
                  cells: int | None = None) -> pd.DataFrame:
    """The trials to draw: ``trial_ids`` as given; else the ``top`` best overall; else the best of
    each cell (of the ``cells`` best cells when given), best first.

    "Best" by the score, as everywhere (:func:`~gansweep.analysis.loading.ranked`): completed and
    stopped trials with a finite score. Unless named, a diverged trial is never drawn: it keeps the
    generator of its best evaluation before it diverged, but counts as +inf everywhere else.
    """
    trials = plan_trials(trials)
    if trial_ids:
        known = set(trials["trial_id"])
        unknown = [t for t in trial_ids if t not in known]
        if unknown:
            example = ", ".join(sorted(known)[:3]) or "none stored yet"
            raise GansweepError(f"--trial {unknown[0]!r}: no such trial in this study (e.g. {example})")
        return trials.set_index("trial_id").loc[list(dict.fromkeys(trial_ids))].reset_index()
    scored = ranked(trials, trials["score"])
    if top is not None:
        return scored.head(top)
    return scored.groupby("cell", sort=False).head(1).head(cells)


def plan_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The rows whose trial_id the plan's grammar allows: a stored row that names no trial of the
    plan never becomes a file name (it is skipped, with a warning)."""
    from gansweep.study.plan import is_trial_id

    hostile = ~trials["trial_id"].map(is_trial_id).astype(bool)
    if hostile.any():
        log.warning("%d stored rows have a trial_id outside the plan's grammar (e.g. %r); skipped",
                    int(hostile.sum()), str(trials.loc[hostile, "trial_id"].iloc[0])[:80])
    return trials[~hostile]


def title(stored, row: dict[str, Any] | None = None) -> str:
    """The trial, its score and step, and the row's other metrics: the same evaluation (the row
    describes the kept generator), so the figure and the trials table say the same thing."""
    text = f"{stored.trial_id}\n{stored.metric} {stored.score:.4g} at step {stored.step}"
    # numbers.Real: a Parquet integer column (modes) comes back as numpy.int64, which is no int
    others = [f"{m} {float(v):.4g}" for m, v in (row or {}).items()
              if m != stored.metric and isinstance(v, numbers.Real) and not isinstance(v, bool)
              and math.isfinite(float(v))]
    return "\n".join([text, " · ".join(others)]) if others else text


def row_metrics(trials: pd.DataFrame) -> list[str]:
    """The metric columns of a trials table (everything the schema does not fix, hp_* aside)."""
    from gansweep.store.parquet import trial_columns

    fixed = set(trial_columns([], []).names)
    return [c for c in trials.columns if c not in fixed and not c.startswith("hp_")]


def render(stored, dataset: str, path: Path, n: int | None = None, row: dict[str, Any] | None = None) -> Path:
    """Draw ``n`` samples of a :class:`~gansweep.store.generators.StoredGenerator` (or of the
    :class:`~gansweep.store.generators.DrawnSamples` kept beside it) into ``path`` (PNG); ``row``:
    the trial's metric columns, shown in the title."""
    flat = len(stored.shape) == 1
    n = n or (POINTS if flat else IMAGES)
    if not flat and n > MAX_IMAGES:
        raise GansweepError(f"-n {n}: at most {MAX_IMAGES} images per trial (an image grid); "
                            f"up to {MAX_POINTS} points for 2-D data")
    x = stored.sample(n)
    x = x.float().cpu().numpy() if hasattr(x, "cpu") else np.asarray(x, dtype=np.float32)
    heading = title(stored, row)
    if flat:
        fig = Figure(figsize=(4.6, 4.6))
        ax = fig.subplots()
        real = _real_points(dataset, n)
        if real is not None:
            # the data on top, dark and small, so the generated cloud never hides it
            ax.scatter(real[:, 0], real[:, 1], s=2, c=REAL_COLOUR, label="data", linewidths=0,
                       alpha=0.7, zorder=3)
        ax.scatter(x[:, 0], x[:, 1], s=3, c=FAKE_COLOUR, label="generated", linewidths=0, alpha=0.35, zorder=2)
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="upper right", fontsize=7, markerscale=3)
    else:
        grid = image_grid(np.clip((x + 1) / 2, 0, 1), per_row=math.ceil(math.sqrt(n)))
        side = min(8.0, 1.0 + 0.9 * math.ceil(math.sqrt(n)))
        fig = Figure(figsize=(side, side + 0.4))
        ax = fig.subplots()
        ax.imshow(grid, interpolation="nearest")
        ax.axis("off")
    ax.set_title(heading, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def image_grid(images: np.ndarray, per_row: int, pad: int = 1) -> np.ndarray:
    """(n, C, H, W) images in [0, 1] → one (rows·(H+pad)+pad, cols·(W+pad)+pad, 3) picture on white,
    as torchvision's ``make_grid`` lays them out (grey images drawn as RGB)."""
    n, c, h, w = images.shape
    if c == 1:
        images = np.repeat(images, 3, axis=1)
    cols = min(per_row, n)
    rows = math.ceil(n / cols)
    grid = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), dtype=np.float32)
    for i, img in enumerate(images[:, :3]):
        r, col = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top:top + h, left:left + w] = img.transpose(1, 2, 0)
    return grid


def _real_points(dataset: str, n: int) -> np.ndarray | None:
    """Real samples of a 2-D data set to draw on top of the generated ones (its test split, as the
    evaluation saw it; numpy, no torch); None for a data set that is not a known mixture."""
    from gansweep.data.points import MIXTURES, mixture_split

    if dataset not in MIXTURES:
        return None
    return mixture_split(dataset, "test")[0][:n].astype(np.float32)


def write_samples(study_dir: str | StoragePath, trial_ids: list[str] | None = None, top: int | None = None,
                  n: int | None = None, out: str | Path | None = None, device: str = "cpu",
                  cells: int | None = None, reuse: bool = False) -> list[Path]:
    """Write ``samples/<trial_id>.png`` for the chosen trials (see :func:`choose_trials`); return the paths.

    ``samples/`` is in ``out``, by default the study directory (``./<name>`` for a study in a bucket).
    Trials chosen by default that kept no generator are skipped; a trial named in ``trial_ids``
    that kept none is an error. ``reuse``: see :func:`draw_samples`.
    """
    if n is not None and not 1 <= n <= MAX_POINTS:
        raise GansweepError(f"-n {n}: draw 1 to {MAX_POINTS} samples ({MAX_IMAGES} for images)")
    path, trials = open_trained_study(study_dir, top, device, "it has no samples")
    chosen = choose_trials(trials, trial_ids, top, cells)
    return draw_samples(path, chosen, trials, output_dir(path, out) / SAMPLES_DIR, n=n, device=device,
                        named=bool(trial_ids), reuse=reuse)


def draw_samples(path: StoragePath, chosen: pd.DataFrame, trials: pd.DataFrame, target: Path, n: int | None = None,
                 device: str = "cpu", named: bool = False, reuse: bool = False) -> list[Path]:
    """Draw each ``chosen`` trial of the study at ``path`` into ``target/<trial_id>.png``; ``trials``:
    all stored rows (their metric columns title each picture). ``named``: the user named these
    trials, so one that kept no generator is an error rather than skipped. ``reuse``: a trial whose
    picture is there already is not drawn again (a stored trial's generator never changes), so a
    report after ``gansweep samples`` loads no generator and imports no torch.
    """
    from gansweep.store.generators import generator_path, load_drawn, load_generator

    chosen = plan_trials(chosen)
    written, missing = [], []
    metrics = row_metrics(trials)
    for row in chosen.itertuples(index=False):
        drawn = target / f"{row.trial_id}.png"
        if reuse and drawn.is_file() and not drawn.is_symlink():
            written.append(drawn)
            continue
        if not named and not generator_path(path, row.trial_id).is_file():
            missing.append(row.trial_id)  # known without loading torch
            continue
        mine = chosen.loc[chosen.trial_id == row.trial_id, metrics].iloc[0].to_dict()
        kept = load_drawn(path, row.trial_id)
        if kept is not None and (n or (POINTS if len(kept.shape) == 1 else IMAGES)) <= len(kept.samples):
            written.append(render(kept, row.dataset, drawn, n, mine))  # the draw kept with the generator: no torch
            continue
        try:
            stored = load_generator(path, row.trial_id, device)
        except GansweepError as exc:
            if named:
                raise
            if generator_path(path, row.trial_id).is_file():  # there, but unreadable: say why
                log.warning("%s", exc)
            else:
                missing.append(row.trial_id)
            continue
        written.append(render(stored, row.dataset, drawn, n, mine))
    if missing:
        log.warning("%d chosen trials kept no generator (trained before gansweep kept them?): %s",
                    len(missing), ", ".join(missing[:5]))
    if not written:
        raise GansweepError(f"{path}: no trial with a finite score kept a generator yet")
    return written


def open_trained_study(study_dir: str | StoragePath, top: int | None, device: str,
                       dry_run_says: str) -> tuple[StoragePath, pd.DataFrame]:
    """The study and its stored trials, for commands that need the kept generators (samples, evaluate):
    refuses a dry run (``dry_run_says`` what it lacks), a bad ``--top`` or ``--device``, no results."""
    path = check_study_dir(study_dir)
    if read_dry_run(path):
        raise GansweepError(f"{path}: a dry run trains no GANs, so {dry_run_says}; run the study without --dry-run")
    if top is not None and top < 1:
        raise GansweepError(f"--top {top}: choose at least 1 trial")
    check_device(device)
    trials = read_trials(path)
    if trials.empty:
        raise GansweepError(f"{path}: no results yet (results/trials holds no trial)")
    return path, trials


def check_device(device: str) -> None:
    if device not in ("cpu", "cuda") and not re.fullmatch(r"cuda:\d+", device):
        raise GansweepError(f"--device {device!r}: choose cpu or cuda")
    if device == "cpu":
        return
    import torch

    if not torch.cuda.is_available():
        raise GansweepError(f"--device {device}: no CUDA device here; use --device cpu")
