"""A study directory as the analysis reads it: its trials, its study file, the layout chosen
(panels, colours, metric) and where figures go. Every read goes through the safety gateway
(:mod:`gansweep.storage`): a study directory may come from someone else."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gansweep.errors import GansweepError, NotAStudyError
from gansweep.gan.specs import AXES, HP_SPECS
from gansweep.metrics import specs as metric_specs
from gansweep.status import SCORED
from gansweep.storage import StoragePath, location, read_file, refuse_links, stored_json
from gansweep.store import read_trials
from gansweep.store.parquet import RESULTS_DIR
from gansweep.store.studydir import STUDY_FILE
from gansweep.study.plan import Plan
from gansweep.study.schema import Choice, Range
from gansweep.study.schema import Study as StudyFile

log = logging.getLogger(__name__)


@dataclass
class Study:
    """What every plot needs: the stored trials, the study file, and the chosen layout.

    ``path`` is where the study is (a directory or ``s3://…``); ``out`` the local directory the
    figures and the report go to (see :func:`output_dir`).
    """

    path: StoragePath
    file: StudyFile | None  # study.yaml as validated by the schema (None: no study.yaml)
    plan: Plan | None  # its plan (None: no study.yaml, or one this version would not plan)
    trials: pd.DataFrame
    metric: str  # column plotted ("score" or a metric column)
    primary: str  # primary metric's name, for labels
    panel: str
    by: str
    log_hps: set[str] = field(default_factory=set)
    out: Path | None = None
    dry_run: bool = False  # synthetic trials: every title says so
    text: str | None = None  # study.yaml as stored (the report shows it); None without one

    @property
    def out_dir(self) -> Path:
        return self.out if self.out is not None else output_dir(self.path)

    @property
    def higher_is_better(self) -> bool:
        return metric_specs.higher_is_better(self.primary if self.metric == "score" else self.metric)

    @property
    def metric_label(self) -> str:
        name = self.primary if self.metric == "score" else self.metric
        label = metric_specs.label(name)
        return f"{label} ({'higher' if self.higher_is_better else 'lower'} is better)"

    @property
    def metric_short(self) -> str:
        """E.g. 'FD (lower is better)': short enough for an axis label."""
        name = self.primary if self.metric == "score" else self.metric
        short = name.upper() if name in ("fid", "fd", "is", "kid", "mmd") else name.replace("_", " ")
        return f"{short} ({'higher' if self.higher_is_better else 'lower'} is better)"

    def values(self, frame: pd.DataFrame | None = None) -> pd.Series:
        """The plotted metric; NaN for trials that found nothing (stopped ones: what they reached)."""
        frame = self.trials if frame is None else frame
        v = pd.to_numeric(frame[self.metric], errors="coerce").astype(float)
        return v.where(frame["status"].isin(SCORED))

    def ranked(self) -> pd.DataFrame:
        """The trials that found something, best first, with their plotted value as ``_v``: the one
        definition of a cell's best trial (:func:`ranked`)."""
        return ranked(self.trials, self.values(), self.higher_is_better)


def ranked(trials: pd.DataFrame, values: pd.Series, higher_is_better: bool = False) -> pd.DataFrame:
    """``trials`` that found something, best first by ``values`` (kept as ``_v``); ties by trial_id.

    The one definition behind "the best trial of a cell" (the report's tables, the learning curves,
    the samples drawn, ``gansweep evaluate``'s default): a trial found something when its status is
    scored (completed, or stopped: a stopped trial's score is a real evaluated generator's, the best
    it reached; docs/STOPPING.md) and its value is finite. A diverged trial keeps the generator of
    its best evaluation before it diverged, but counts as +inf everywhere (budget curves,
    verdicts), so it is never a cell's best.
    """
    v = pd.to_numeric(values, errors="coerce").astype(float).where(trials["status"].isin(SCORED))
    ok = np.isfinite(v.to_numpy())
    found = trials[ok].assign(_v=v[ok])
    return found.sort_values(["_v", "trial_id"], ascending=[not higher_is_better, True], kind="stable")


def read_study_file(study_dir: StoragePath) -> tuple[StudyFile | None, Plan | None, str | None, bool]:
    """The study as run, validated by the schema, its plan (no torch, no weights), its text and
    whether it is a dry run (``gansweep.json``), each file read once; (None, None, None, dry run) when
    the directory holds no study.yaml (a ``results/`` copied alone). A file that does not validate is
    a one-line error naming the file and the field; a study this version would no longer plan (a
    check added since it ran) is still read, without its plan."""
    from gansweep.store.studydir import StudyDir
    from gansweep.study import build_plan
    from gansweep.study.load import study_from_bytes

    sd = StudyDir(study_dir)
    if not sd.exists():
        return None, None, None, read_dry_run(study_dir)
    raw = read_file(sd.study_file)
    study = study_from_bytes(raw, str(sd.study_file))
    dry_run = bool(sd._meta().get("dry_run"))  # an unreadable gansweep.json is a one-line error
    text = raw.decode("utf-8", errors="replace")
    try:
        return study, build_plan(study, str(sd.study_file), weights=False), text, dry_run
    except GansweepError as exc:
        log.warning("%s; the figures go on without the plan (planned trials unknown)", exc)
        return study, None, text, dry_run


def check_study_dir(study_dir: str | StoragePath) -> StoragePath:
    path = location(study_dir)
    if not path.is_dir() or not ((path / STUDY_FILE).is_file() or (path / RESULTS_DIR).is_dir()):
        raise NotAStudyError(f"{path} is not a study directory (it has neither study.yaml nor results/)")
    refuse_links(path)  # a link inside (plots/, results/) would lead the writes out of it
    return path


def output_dir(study_dir: StoragePath, out: str | Path | None = None) -> Path:
    """Where figures, the report and exports go: ``out``, else the study directory itself, or
    ``./<study name>`` for a study in a bucket (plots are written locally, never into the bucket)."""
    if out is not None:
        out = Path(out)
        for p in (out, *out.parents):  # a file on the way would be a traceback at the first write
            if p.exists():
                if not p.is_dir():
                    raise GansweepError(f"--out {out}: {p} is a file; give a directory (it is created if missing)")
                break
        return out
    return study_dir if isinstance(study_dir, Path) else Path(study_dir.name)


def _spaces(study: StudyFile | None) -> list[dict[str, Choice | Range]]:
    return [getattr(entry, "space", None) or {} for entry in (study.search if study else [])]


def log_scale_hps(study: StudyFile | None) -> set[str]:
    """Hyperparameters that any search entry samples on a log scale."""
    return {name for space in _spaces(study) for name, dom in space.items() if isinstance(dom, Range) and dom.log}


def searched_hps(study: StudyFile | None, trials: pd.DataFrame) -> dict[str, str]:
    """Hyperparameters some search entry varies, with their axis kind: 'choice' (categorical or
    integer choices, drawn as categories), 'log' or 'linear'. A hyperparameter fixed by every
    entry (a single value, one choice) is not searched and gets no sensitivity panel."""
    kinds: dict[str, str] = {}
    for space in _spaces(study):
        for name, dom in space.items():
            if isinstance(dom, Choice) and len(dom.choices) > 1:
                kinds[name] = "choice"
            elif isinstance(dom, Range):
                integer = name in HP_SPECS and HP_SPECS[name].integer
                kinds.setdefault(name, "choice" if integer and dom.high - dom.low <= 12
                                 else "log" if dom.log else "linear")
    # table1 and other fixed-value strategies vary nothing; keep only what the trials show varying
    return {n: k for n, k in kinds.items() if f"hp_{n}" in trials and trials[f"hp_{n}"].nunique() > 1}


def varying_axes(trials: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Grid axes with more than one value, the one with most values first."""
    axes = [a for a in AXES if a in trials and a not in exclude and trials[a].nunique() > 1]
    return sorted(axes, key=lambda a: -trials[a].nunique())


def _default_primary(trials: pd.DataFrame) -> str:
    """The metric the score is, when the study names none: each data set's default; ``score`` when
    its data sets' defaults differ (digits' fd beside cifar10's fid: no one name is right)."""
    datasets = trials["dataset"].dropna().unique() if "dataset" in trials else []
    defaults = {metric_specs.default_primary(str(d)) for d in datasets}
    return defaults.pop() if len(defaults) == 1 else "score"


def load_study(study_dir: str | StoragePath, by: str | None = None, panel: str | None = None,
               metric: str | None = None, out: str | Path | None = None) -> Study:
    """Read a study directory and resolve the layout; GansweepError on bad options or no results."""
    path = check_study_dir(study_dir)
    trials = read_trials(path)
    if trials.empty:
        raise GansweepError(f"{path}: no results yet (results/trials holds no trial)")
    file, plan, text, dry_run = read_study_file(path)
    primary = (file.metrics.primary if file else None) or _default_primary(trials)
    metric = metric or "score"
    numeric = [c for c in trials.columns if c == "score" or (
        c not in AXES and not c.startswith("hp_") and pd.api.types.is_float_dtype(trials[c])
        and c not in ("train_seconds", "gpus_per_trial"))]
    if metric not in numeric:
        raise GansweepError(f"unknown metric {metric!r}; this study has: {', '.join(numeric)}")
    choices = [a for a in AXES if a in trials]
    panel = panel or "dataset"
    if panel not in choices:
        raise GansweepError(f"--panel {panel!r}: choose one of {', '.join(choices)}")
    if by is None:
        axes = varying_axes(trials, exclude=[panel])
        by = axes[0] if axes else next(a for a in ("normalization", "penalty", *choices) if a != panel)
    if by not in choices or by == panel:
        allowed = [a for a in choices if a != panel]
        raise GansweepError(f"--by {by!r}: choose one of {', '.join(allowed)} (not the panel axis)")
    for col in AXES:  # tolerate stores written before an axis existed
        if col not in trials:
            trials[col] = "-"
    return Study(path, file, plan, trials, metric, primary, panel, by, log_scale_hps(file), output_dir(path, out),
                 dry_run, text)


def read_dry_run(study_dir: StoragePath) -> bool:
    """Whether the study ran synthetic trials (``gansweep.json``); False when unknown."""
    try:
        return bool(stored_json((study_dir / "gansweep.json").read_text()).get("dry_run"))
    except (OSError, ValueError, AttributeError):
        return False


def study_name(study: "Study") -> str:
    name = study.file.name if study.file else study.path.name
    return f"{name} (DRY RUN: synthetic trials, not trained GANs)" if study.dry_run else name
