"""Idempotent, atomic Parquet store for trial results.

Each trial is written as its own files, ``results/trials/<trial_id>.parquet`` (one row) and
``results/evals/<trial_id>.parquet`` (one row per evaluation), through a temporary name that
starts with ``.`` (ignored by pyarrow's dataset discovery) and an atomic rename. The evals go
first, so a visible trial row always has its evaluations. The first write of a ``trial_id`` wins:
Ray Tune re-runs trials that finished after its last snapshot, and a re-run must neither
duplicate nor change a stored result. Every file of one study has the same schema (fixed from
the study's plan), so ``pandas.read_parquet(dir)`` reads the whole directory.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

STATUSES = ("completed", "diverged", "failed")
BASE_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("trial_id", pa.string()),
    ("study", pa.string()),
    ("cell", pa.string()),
    ("dataset", pa.string()),
    ("architecture", pa.string()),
    ("loss", pa.string()),
    ("penalty", pa.string()),
    ("normalization", pa.string()),
    ("strategy", pa.string()),
    ("round", pa.int64()),
    ("index", pa.int64()),
    ("status", pa.string()),
    ("score", pa.float64()),
]
TAIL_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("steps", pa.int64()),
    ("train_seconds", pa.float64()),
    ("gpu", pa.float64()),
    ("error", pa.string()),
    ("config", pa.string()),
    ("written_at", pa.timestamp("us", tz="UTC")),
]


def trial_columns(metrics: Sequence[str], hps: Sequence[str]) -> pa.Schema:
    """The trials schema of a study: fixed columns, one per metric, ``hp_<name>`` per hyperparameter."""
    fields = list(BASE_COLUMNS)
    fields += [(m, pa.float64()) for m in metrics]
    fields += [(f"hp_{h}", pa.float64()) for h in hps]
    fields += TAIL_COLUMNS
    return pa.schema(fields)


def eval_columns(metrics: Sequence[str]) -> pa.Schema:
    """Evals schema: metrics as columns; losses, singular values etc. as JSON ``diagnostics``."""
    fields = [("trial_id", pa.string()), ("step", pa.int64()), ("seconds", pa.float64())]
    fields += [(m, pa.float64()) for m in metrics]
    fields += [("diagnostics", pa.string())]
    return pa.schema(fields)


def _atomic_write(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _safe_name(trial_id: str) -> str:
    if not trial_id or "/" in trial_id or trial_id.startswith("."):
        raise ValueError(f"unsafe trial_id {trial_id!r}")
    return f"{trial_id}.parquet"


class TrialStore:
    """Writer for one study's ``results/``; first write of a trial id wins."""

    def __init__(self, root: str | Path, metrics: Sequence[str], hps: Sequence[str]) -> None:
        self.root = Path(root)
        self.trials_dir = self.root / "trials"
        self.evals_dir = self.root / "evals"
        self.trial_schema = trial_columns(metrics, hps)
        self.eval_schema = eval_columns(metrics)
        self.trials_dir.mkdir(parents=True, exist_ok=True)
        self.evals_dir.mkdir(parents=True, exist_ok=True)
        self._known = {p.stem for p in self.trials_dir.glob("*.parquet") if not p.name.startswith(".")}

    def __contains__(self, trial_id: str) -> bool:
        return trial_id in self._known

    @property
    def trial_ids(self) -> set[str]:
        return set(self._known)

    def write(self, row: Mapping[str, Any], evals: Iterable[Mapping[str, Any]] = ()) -> bool:
        """Store one finished trial and its evaluations; False if it was already stored."""
        trial_id = str(row["trial_id"])
        name = _safe_name(trial_id)
        if trial_id in self._known or (self.trials_dir / name).exists():
            self._known.add(trial_id)
            log.debug("trial %s already stored; keeping the first result", trial_id)
            return False
        full = dict(row)
        full.setdefault("written_at", pd.Timestamp.now(tz="UTC"))
        if isinstance(full.get("config"), Mapping):
            full["config"] = json.dumps(full["config"], sort_keys=True, default=str)
        unknown = set(full) - set(self.trial_schema.names)
        if unknown:
            raise ValueError(f"columns not in the study's schema: {sorted(unknown)}")
        eval_rows = [self._eval_row(trial_id, e) for e in evals]
        _atomic_write(_table(eval_rows, self.eval_schema), self.evals_dir / name)
        _atomic_write(_table([full], self.trial_schema), self.trials_dir / name)
        self._known.add(trial_id)
        return True

    def _eval_row(self, trial_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        names = set(self.eval_schema.names)
        row = {k: v for k, v in record.items() if k in names}
        rest = {k: _clean(v) for k, v in record.items() if k not in names}
        row["trial_id"] = trial_id
        row["diagnostics"] = json.dumps(rest, sort_keys=True, default=str) if rest else None
        return row


def _table(rows: list[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    cols = {f.name: [_clean(r.get(f.name)) for r in rows] for f in schema}
    return pa.table(cols, schema=schema)


def _clean(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy / torch scalars
    return value


def _read(path: Path) -> pd.DataFrame:
    if not path.is_dir() or not any(p for p in path.glob("*.parquet") if not p.name.startswith(".")):
        return pd.DataFrame()
    return pd.read_parquet(path)


def read_trials(study_dir: str | Path) -> pd.DataFrame:
    """All stored trials of a study (empty frame when none), ordered by trial id."""
    df = _read(Path(study_dir) / "results" / "trials")
    if not df.empty:
        df = df.drop_duplicates("trial_id").sort_values("trial_id", ignore_index=True)
    return df


def read_evals(study_dir: str | Path) -> pd.DataFrame:
    """All stored evaluations, ordered by trial id and step."""
    df = _read(Path(study_dir) / "results" / "evals")
    if not df.empty:
        df = df.drop_duplicates(["trial_id", "step"]).sort_values(["trial_id", "step"], ignore_index=True)
    return df
