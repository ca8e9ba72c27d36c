"""Idempotent, atomic, crash-safe Parquet store for trial results.

Layout. ``results/trials`` holds one row per trial and ``results/evals`` one row per evaluation.
A finished trial is first written as its own pair of files, ``trials/<trial_id>.parquet`` and
``evals/<trial_id>.parquet``; every ``COMPACT_AT`` trials the writer *compacts* those small files
into a pair ``trials/part-<uuid>.parquet`` + ``evals/part-<uuid>.parquet`` and deletes them, so a
100,000-trial study is a few hundred files, not 200,000. Every file of a study has the same
schema (fixed from the study's plan), so ``pandas.read_parquet(dir)`` reads the whole directory.

Atomicity. Every file is written under a temporary name starting with ``.`` (pyarrow's dataset
discovery ignores it), flushed to disk and renamed into place; on an object store (``s3://``,
see :mod:`gansweep.storage`) a file is one PUT, atomic by itself, and readers still skip names
starting with ``.``. Evals go first and the trials file
is the commit: a visible trial row always has its evaluations. A crash leaves at worst
temporary files, evals without a trial row, an evals part without its trials part, or small files
already merged into a part. The writer (one per study: the driver holds the study lock) repairs
each of these when it opens the store; readers never see a partial file and drop duplicate
trial ids.

Idempotence. The first write of a ``trial_id`` wins: Ray Tune re-runs trials that finished after
its last snapshot, and a re-run must neither duplicate nor change a stored result.

Damage. A file that cannot be read (truncated, garbage, a column missing) makes
:func:`read_trials`/:func:`read_evals` raise :class:`StoreError` naming the file and the fix;
:func:`quarantine_damaged` (``gansweep resume``) moves such files to ``results/quarantine/`` so
their trials run again. Writing errors (a full disk, a read-only file system) raise
:class:`StoreWriteError` and leave every stored file as it was.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import math
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from gansweep import env
from gansweep.errors import GansweepError, MachineError
from gansweep.gan.specs import AXES
from gansweep.status import FINAL, SCORED, Status
from gansweep.storage import (TMP_PREFIX, StoragePath, arrow_source, atomic_write, files_in, location, move,
                              stored_json)

log = logging.getLogger(__name__)

PART_PREFIX = "part-"
RESULTS_DIR = "results"  # in the study directory; the stores below it:
TRIALS_DIR = "trials"
EVALS_DIR = "evals"
QUARANTINE_DIR = "quarantine"
# Flush every file to disk before it becomes visible, so a power cut never leaves an empty file
# (about 10 ms a file on a cloud disk; dry runs may turn it off: TrialStore(fsync=False)).
# None: GANSWEEP_STORE_FSYNC says (gansweep.env); small files that trigger a compaction likewise
# come from GANSWEEP_STORE_COMPACT_AT (0 turns compaction off).
FSYNC: bool | None = None

BASE_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("trial_id", pa.string()),
    ("study", pa.string()),
    ("cell", pa.string()),
    *((axis, pa.string()) for axis in AXES),
    ("strategy", pa.string()),
    ("round", pa.int64()),
    ("index", pa.int64()),
    ("seed", pa.int64()),
    ("suggested_by", pa.string()),
    ("status", pa.string()),
    ("score", pa.float64()),
]
TAIL_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("steps", pa.int64()),
    ("best_step", pa.int64()),
    ("train_seconds", pa.float64()),
    ("gpus_per_trial", pa.float64()),
    ("error", pa.string()),
    ("config", pa.string()),
    ("written_at", pa.timestamp("us", tz="UTC")),
]
CONFIG_COLUMNS = ("trial_id", "cell", *AXES, "strategy", "round", "index", "seed", "suggested_by")
"""The columns a trial's config (:func:`gansweep.search.composite.trial_config`) holds as they are stored."""
REQUIRED_TRIAL_COLUMNS = ("trial_id", "cell", "strategy", "status", "score")
# columns added after studies were stored: files written before lack them, read as null
ADDED_TRIAL_COLUMNS: dict[str, pa.DataType] = {"suggested_by": pa.string(), "seed": pa.int64(),
                                               "best_step": pa.int64(), "gpus_per_trial": pa.float64()}
# columns renamed since: read under their old name from old files, then moved to the new one
RENAMED_TRIAL_COLUMNS: dict[str, tuple[str, pa.DataType]] = {"gpu": ("gpus_per_trial", pa.float64())}
INTEGER_TRIAL_COLUMNS = ("round", "index", "seed", "best_step")
"""Read as pandas' nullable Int64: a random-search row's ``round`` is null, not a float NaN."""
_PANDAS_INTEGERS = {b"pandas": json.dumps({
    "index_columns": [], "column_indexes": [], "pandas_version": pd.__version__,
    "columns": [{"name": c, "field_name": c, "pandas_type": "int64", "numpy_type": "Int64", "metadata": None}
                for c in INTEGER_TRIAL_COLUMNS]}).encode()}
"""Stored with every trials file so that plain ``pandas.read_parquet`` (the docs' example) reads
these columns as Int64 too; pyarrow and other readers ignore it."""
REQUIRED_EVAL_COLUMNS = ("trial_id", "step")
CONFIRM_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("confirms", pa.string()),
    ("rank", pa.int64()),
    ("seed_index", pa.int64()),
    ("train_seed", pa.int64()),
    ("eval_seed", pa.int64()),
    ("samples", pa.int64()),
    ("search_score", pa.float64()),
    ("stream", pa.string()),
]
"""A confirmation row's own columns, after the search's (:mod:`gansweep.store.confirm`)."""
REQUIRED_CONFIRM_COLUMNS = (*REQUIRED_TRIAL_COLUMNS, "confirms", "seed_index")


class StoreError(GansweepError):
    """A damaged results store (a file that cannot be read); names the file and the fix."""


class StoreReadError(MachineError):
    """Results could not be read for a while: files kept changing under the reader (a writer
    compacting) or the machine refused (an I/O or network error). Not bad input: exit code 1."""


class StoreWriteError(MachineError):
    """Results could not be written (full disk, read-only or missing directory). Exit code 1."""


def trial_columns(metrics: Sequence[str], hps: Sequence[str]) -> pa.Schema:
    """The trials schema of a study: fixed columns, one per metric, ``hp_<name>`` per hyperparameter."""
    fields = list(BASE_COLUMNS)
    fields += [(m, pa.float64()) for m in metrics]
    fields += [(f"hp_{h}", pa.float64()) for h in hps]
    fields += TAIL_COLUMNS
    return pa.schema(fields, metadata=_PANDAS_INTEGERS)


def eval_columns(metrics: Sequence[str]) -> pa.Schema:
    """Evals schema: metrics as columns; losses, singular values etc. as JSON ``diagnostics``."""
    fields = [("trial_id", pa.string()), ("step", pa.int64()), ("seconds", pa.float64())]
    fields += [(m, pa.float64()) for m in metrics]
    fields += [("diagnostics", pa.string())]
    return pa.schema(fields)


# -- files ---------------------------------------------------------------------------------------

def _visible(directory: StoragePath) -> list[StoragePath]:
    """Data files of a dataset directory: ``*.parquet`` not hidden (temporaries start with ``.``)."""
    return sorted((p for p in files_in(directory) if p.name.endswith(".parquet")
                   and not p.name.startswith((".", "_"))), key=str)


def _is_part(path: StoragePath) -> bool:
    return path.name.startswith(PART_PREFIX)


def _atomic_write(table: pa.Table, path: StoragePath, fsync: bool | None = None) -> None:
    """Write ``table`` to ``path`` all or nothing; :class:`StoreWriteError` leaves nothing behind."""
    try:
        if fsync is None:
            fsync = env.get("GANSWEEP_STORE_FSYNC") if FSYNC is None else FSYNC
        atomic_write(path, lambda f: pq.write_table(table, f), fsync)
    except OSError as exc:
        raise _write_error(path.parent, exc) from None


def _read_table(path: StoragePath, **kwargs: Any) -> pa.Table:
    source, filesystem = arrow_source(path)
    return pq.read_table(source, filesystem=filesystem, **kwargs)


def _read_schema(path: StoragePath) -> pa.Schema:
    source, filesystem = arrow_source(path)
    return pq.read_schema(source, filesystem=filesystem)


def _write_error(directory: StoragePath, exc: OSError) -> StoreWriteError:
    reason = exc.strerror or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    hint = ("free some space" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
            else "make it writable")
    study_dir = directory.parent.parent
    return StoreWriteError(f"{directory}: cannot write results ({reason}); the results already stored are "
                           f"intact; {hint}, then continue with 'gansweep resume {study_dir}'")


def _safe_name(trial_id: str) -> str:
    if not trial_id or "/" in trial_id or "\\" in trial_id or trial_id.startswith((".", "_", PART_PREFIX)):
        raise ValueError(f"unsafe trial_id {trial_id!r}")
    return f"{trial_id}.parquet"


def _unlink(path: StoragePath) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _part_ids(path: StoragePath) -> list[str]:
    """The trial ids of a part file; a file that cannot give them is damaged, a read the machine
    refused (an I/O error: the exception has an errno) is :class:`StoreReadError`."""
    try:
        return _read_table(path, columns=["trial_id"]).column("trial_id").to_pylist()
    except OSError as exc:
        if exc.errno is None:  # a parse error: pyarrow reports those as OSError without errno
            raise _damaged(path, exc) from None
        raise StoreReadError(f"{path}: cannot read ({exc.strerror or exc}); nothing stored was changed: "
                             "try again") from None
    except (pa.ArrowException, KeyError) as exc:
        raise _damaged(path, exc) from None


# -- the writer ----------------------------------------------------------------------------------

class TrialStore:
    """Writer for one study's ``results/``; first write of a trial id wins.

    Opening it repairs what a crash can leave (see the module docstring) and learns the stored
    trial ids from file names and the ``trial_id`` column of part files only. Only one writer may
    have a study's store open at a time (the driver's study lock ensures it).
    """

    def __init__(self, root: str | StoragePath, metrics: Sequence[str], hps: Sequence[str],
                 compact_at: int | None = None, fsync: bool | None = None) -> None:
        self.root = location(root)
        self.trials_dir = self.root / TRIALS_DIR
        self.evals_dir = self.root / EVALS_DIR
        self.trial_schema = trial_columns(metrics, hps)
        self.eval_schema = eval_columns(metrics)
        self.compact_at = env.get("GANSWEEP_STORE_COMPACT_AT") if compact_at is None else compact_at
        self.fsync = fsync
        try:
            self.trials_dir.mkdir(parents=True, exist_ok=True)
            self.evals_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _write_error(self.trials_dir, exc) from None
        self._known: set[str] = set()
        self._small: set[str] = set()
        # tables of small files this writer wrote: compaction needs not read them back
        self._written: dict[str, tuple[pa.Table, pa.Table]] = {}
        self._recover()

    def _recover(self) -> None:
        """Finish or undo what a crash interrupted; learn which trials are stored."""
        for d in (self.trials_dir, self.evals_dir):
            for f in files_in(d):
                if f.name.startswith(TMP_PREFIX):
                    log.info("removing the unfinished write %s", f)
                    _unlink(f)
        trial_files = _visible(self.trials_dir)
        parts = {p.name for p in trial_files if _is_part(p)}
        in_parts: set[str] = set()
        for p in trial_files:
            if _is_part(p):
                in_parts.update(_part_ids(p))
        small = {p.stem for p in trial_files if not _is_part(p)}
        for tid in small & in_parts:  # a compaction stopped before deleting what it had merged
            _unlink(self.trials_dir / f"{tid}.parquet")
        small -= in_parts
        for p in _visible(self.evals_dir):
            if _is_part(p):
                if p.name not in parts:  # a compaction stopped before its commit
                    log.info("removing the uncommitted %s", p)
                    _unlink(p)
            elif p.stem not in small:  # merged already, or the trial row was never committed
                _unlink(p)
        self._known = small | in_parts
        self._small = small

    def __contains__(self, trial_id: str) -> bool:
        return trial_id in self._known

    @property
    def trial_ids(self) -> set[str]:
        return set(self._known)

    def write(self, row: Mapping[str, Any], evals: Iterable[Mapping[str, Any]] = ()) -> bool:
        """Store one finished trial and its evaluations; False if it was already stored.

        ``status`` must be one of :data:`gansweep.status.FINAL`; a ``completed`` or ``stopped`` trial without a
        finite score is stored as ``diverged`` (a result without a score is not a success).
        """
        trial_id = str(row["trial_id"])
        name = _safe_name(trial_id)
        if trial_id in self._known or (self.trials_dir / name).exists():
            self._known.add(trial_id)
            log.debug("trial %s already stored; keeping the first result", trial_id)
            return False
        full = dict(row)
        for old, (new, _) in RENAMED_TRIAL_COLUMNS.items():  # a caller of the old schema
            if old in full:
                full.setdefault(new, full.pop(old))
        status = full.get("status")
        if status not in FINAL:
            raise ValueError(f"trial {trial_id}: status {status!r} is not one of {', '.join(FINAL)}")
        score = full.get("score")
        if status in SCORED and not (isinstance(score, (int, float)) and math.isfinite(score)):
            full["status"] = Status.DIVERGED
            full["error"] = full.get("error") or f"score is not finite ({score!r})"
        full.setdefault("written_at", pd.Timestamp.now(tz="UTC"))
        if isinstance(full.get("config"), Mapping):
            full["config"] = json.dumps(full["config"], sort_keys=True, default=str)
        unknown = set(full) - set(self.trial_schema.names)
        if unknown:
            raise ValueError(f"columns not in the study's schema: {sorted(unknown)}")
        eval_table = _table([self._eval_row(trial_id, e) for e in evals], self.eval_schema)
        trial_table = _table([full], self.trial_schema)
        _atomic_write(eval_table, self.evals_dir / name, self.fsync)
        _atomic_write(trial_table, self.trials_dir / name, self.fsync)  # the commit
        self._known.add(trial_id)
        self._small.add(trial_id)
        self._written[trial_id] = (trial_table, eval_table)
        if self.compact_at and len(self._small) >= self.compact_at:
            try:
                self.compact()
            except StoreWriteError as exc:  # the small files are intact; try again later
                log.warning("compaction postponed: %s", exc)
        return True

    def _eval_row(self, trial_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        names = set(self.eval_schema.names)
        row = {k: v for k, v in record.items() if k in names}
        rest = {k: _clean(v) for k, v in record.items() if k not in names}
        row["trial_id"] = trial_id
        row["diagnostics"] = json.dumps(rest, sort_keys=True, default=str) if rest else None
        return row

    def compact(self) -> int:
        """Merge the small per-trial files into one part pair; returns the trials merged.

        Order: evals part, trials part (the commit), then the small files go. A crash before the
        commit leaves an uncommitted evals part, after it small files that are also in the part;
        :meth:`_recover` removes either, and readers drop duplicates meanwhile. A small file that
        cannot be read is left where it is (``gansweep resume`` quarantines it).
        """
        ids = sorted(self._small)
        if not ids:
            return 0
        trial_tables, eval_tables, merged = [], [], []
        for tid in ids:
            tables = self._written.get(tid) or self._read_small(tid)
            if tables is None:
                continue
            trial_tables.append(tables[0])
            eval_tables.append(tables[1])
            merged.append(tid)
        if not merged:
            return 0
        name = f"{PART_PREFIX}{uuid.uuid4().hex}.parquet"
        _atomic_write(_concat(eval_tables, self.eval_schema), self.evals_dir / name, self.fsync)
        _atomic_write(_concat(trial_tables, self.trial_schema), self.trials_dir / name, self.fsync)
        for tid in merged:
            _unlink(self.trials_dir / f"{tid}.parquet")
            _unlink(self.evals_dir / f"{tid}.parquet")
            self._small.discard(tid)
            self._written.pop(tid, None)
        log.debug("compacted %d trials into %s", len(merged), name)
        return len(merged)

    def _read_small(self, tid: str) -> tuple[pa.Table, pa.Table] | None:
        try:
            trials = _as_declared(_with_added(_read_table(self.trials_dir / f"{tid}.parquet")), self.trial_schema)
            evals_path = self.evals_dir / f"{tid}.parquet"
            evals = (_as_declared(_read_table(evals_path), self.eval_schema) if evals_path.exists()
                     else self.eval_schema.empty_table())
            return trials, evals
        except (pa.ArrowException, OSError, KeyError, ValueError) as exc:
            log.warning("not compacting %s: %s", tid, exc)
            return None


def _as_declared(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table``'s columns of ``schema`` cast to it (another encoding of the same values), then the
    columns that are not ours (an annotation someone added), kept as they are."""
    declared = table.select(schema.names).cast(schema)
    for field in table.schema:
        if field.name not in schema.names:
            declared = declared.append_column(field, table.column(field.name))
    return declared


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    """One table of the small files' tables: columns not ours that some hold are kept (null in the
    others); when those disagree in type, only our columns are (never a row lost)."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowException, TypeError, ValueError) as exc:
        log.warning("compaction drops columns that are not gansweep's: %s", exc)
        return pa.concat_tables([t.select(schema.names) for t in tables])


def _with_added(table: pa.Table) -> pa.Table:
    """A trials table written before :data:`ADDED_TRIAL_COLUMNS` existed, with them as nulls (and
    :data:`RENAMED_TRIAL_COLUMNS` under their new names)."""
    for old, (new, _) in RENAMED_TRIAL_COLUMNS.items():
        if old in table.column_names and new not in table.column_names:
            table = table.rename_columns([new if c == old else c for c in table.column_names])
    for name, type_ in ADDED_TRIAL_COLUMNS.items():
        if name not in table.column_names:
            table = table.append_column(pa.field(name, type_), pa.nulls(len(table), type_))
    return table


def _table(rows: list[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    cols = {f.name: [_clean(r.get(f.name)) for r in rows] for f in schema}
    return pa.table(cols, schema=schema)


def _clean(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy / torch scalars
    return value


# -- readers -------------------------------------------------------------------------------------

def _damaged(path: StoragePath, exc: BaseException | str) -> StoreError:
    reason = exc if isinstance(exc, str) else (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    for name in {str(path), arrow_source(path)[0]}:
        reason = reason.replace(f"'{name}': ", "").replace(f"{name}: ", "")
    study_dir = path.parent.parent.parent
    return StoreError(f"{path}: damaged results file ({reason}); 'gansweep resume {study_dir}' moves it to "
                      f"{RESULTS_DIR}/{QUARANTINE_DIR}/ and runs its trials again (or move it away yourself)")


def _declared_types(required: Sequence[str]) -> dict[str, pa.DataType]:
    """The writer's types of the fixed columns; every other column it writes (a metric,
    ``hp_<name>``) is float64, as :func:`trial_columns` and :func:`eval_columns` declare."""
    if tuple(required) not in (REQUIRED_TRIAL_COLUMNS, REQUIRED_CONFIRM_COLUMNS):
        return {f.name: f.type for f in eval_columns([])}
    # old names of renamed columns are ours too: an old file's values are read, then moved (_migrate)
    declared = {**{f.name: f.type for f in trial_columns([], [])}, **{o: t for o, (_, t) in RENAMED_TRIAL_COLUMNS.items()}}
    return {**declared, **dict(CONFIRM_COLUMNS)} if tuple(required) == REQUIRED_CONFIRM_COLUMNS else declared


@functools.cache
def _metric_keys() -> frozenset[str]:
    from gansweep.metrics.specs import METRICS  # torch-free

    return frozenset(key for name in METRICS for key in METRICS[name].keys)


def _ours(name: str, declared: Mapping[str, pa.DataType]) -> bool:
    """Whether the writer writes a column of this name: a fixed column, a metric's result key or
    ``hp_<name>``. Any other column is someone else's (a colleague's annotation): readers ignore
    it and leave it on disk; it never makes a file damaged."""
    return name in declared or name.startswith("hp_") or name in _metric_keys()


def _fits(actual: pa.DataType, declared: pa.DataType) -> bool:
    """Whether a stored column reads as the declared one: the same type in another encoding
    (dictionary strings, as pandas writes a ``category``; narrower integers and floats; an integer
    column with nulls that pandas wrote as floats, whose cast refuses a fraction) or all null."""
    if pa.types.is_dictionary(actual):
        actual = actual.value_type
    if actual == declared or pa.types.is_null(actual):
        return True
    if pa.types.is_floating(declared) or pa.types.is_integer(declared):
        return pa.types.is_floating(actual) or pa.types.is_integer(actual)
    if pa.types.is_string(declared):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    if pa.types.is_timestamp(declared):
        return pa.types.is_timestamp(actual)
    return False


def _schema_problem(schema: pa.Schema, required: Sequence[str]) -> str | None:
    """Why a file's schema cannot give the declared columns (a required one missing, or one of
    ours holding another kind of value, ``score`` as strings), or None."""
    missing = [c for c in required if c not in schema.names]
    if missing:
        return f"column {missing[0]!r} is missing"
    declared = _declared_types(required)
    for field in schema:
        want = declared.get(field.name, pa.float64())
        if _ours(field.name, declared) and not _fits(field.type, want):
            return f"column {field.name!r} holds {field.type}, not {want}"
    return None


def _columns(schema: pa.Schema, required: Sequence[str]) -> tuple[str, ...]:
    """Our columns of a file, less those added since studies were stored (an old file lacks them)."""
    declared = _declared_types(required)
    return tuple(n for n in schema.names if _ours(n, declared) and n not in ADDED_TRIAL_COLUMNS
                 and n not in RENAMED_TRIAL_COLUMNS)


def _target(columns: Iterable[tuple[str, ...]], required: Sequence[str]) -> tuple[pa.Schema, tuple[str, ...]]:
    """The schema the files read as: our columns that most files hold, at their declared types
    (plus added columns, null where a file predates them); and those columns."""
    common = Counter(columns).most_common(1)[0][0] if columns else tuple(required)
    declared = _declared_types(required)
    fields = [pa.field(n, declared.get(n, pa.float64())) for n in common]
    if tuple(required) in (REQUIRED_TRIAL_COLUMNS, REQUIRED_CONFIRM_COLUMNS):
        fields += [pa.field(n, t) for n, t in ADDED_TRIAL_COLUMNS.items() if n not in common]
        fields += [pa.field(o, t) for o, (_, t) in RENAMED_TRIAL_COLUMNS.items()]  # null in new files
    return pa.schema(fields), common


def _row_problem(table: pa.Table, required: Sequence[str]) -> str | None:
    if table.column("trial_id").null_count:
        return "a row has no trial_id"
    if "status" in required and table.column("status").null_count:
        return "a row has no status"
    return None


class _Retry(Exception):
    """A read that may succeed if tried again: a file vanished (a writer compacted while we
    listed) or the machine refused (an I/O error, too many open files, a network error)."""


def _io_failure(path: StoragePath, exc: BaseException) -> _Retry:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    gone = isinstance(exc, FileNotFoundError) or getattr(exc, "errno", None) == errno.ENOENT
    return _Retry(f"{path} vanished while being read" if gone else f"{path}: {reason}")


def _raw(path: StoragePath) -> bytes:
    """A file's bytes; failing to get them is the machine's or a race's (:class:`_Retry`), never damage."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _io_failure(path, exc) from None


def _inspect(files: list[StoragePath], required: Sequence[str]) -> tuple[pa.Schema, dict[StoragePath, str]]:
    """Read every file whole from its bytes: the schema they read as, and each damaged file's reason.

    Getting the bytes is I/O (its failures are :class:`_Retry`); parsing them is not, so whatever
    fails there is damage in the file itself, on a local disk or an object store alike.
    """
    problems: dict[StoragePath, str] = {}
    columns: dict[StoragePath, tuple[str, ...]] = {}
    casts: dict[StoragePath, pa.Table] = {}
    for f in files:
        raw = _raw(f)
        try:
            table = pq.read_table(pa.BufferReader(raw))
        except (pa.ArrowException, OSError, ValueError) as exc:
            problems[f] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            continue
        problem = _schema_problem(table.schema, required) or _row_problem(table, required)
        if problem:
            problems[f] = problem
            continue
        columns[f] = _columns(table.schema, required)
        casts[f] = table.select([n for n in table.column_names if n in columns[f]])
    target, common = _target(list(columns.values()), required)
    for f, cols in columns.items():
        gone = [c for c in common if c not in cols]
        if gone:
            problems[f] = f"column {gone[0]!r} is missing"
            continue
        for name in common:  # a value the declared type cannot hold (a fraction in an integer column)
            try:
                casts[f].column(name).cast(target.field(name).type)
            except (pa.ArrowException, ValueError) as exc:
                problems[f] = f"column {name!r}: {str(exc).splitlines()[0]}"
                break
    return target, {f: problems[f] for f in files if f in problems}


CATCH_UP_ROUNDS = 8
"""How often one read lists the directory again for the parts that merged files it saw vanish."""


def _fast(directory: StoragePath, files: list[StoragePath], required: Sequence[str]) -> pa.Table | None:
    """The files read as one table, cast to the declared schema; None when one of them needs a
    closer look (:func:`_inspect`).

    A compaction merges the small files into a new part and deletes them while readers read. Small
    files are read first, right after the listing, so the window in which one can vanish is short;
    when one vanished all the same, the read lists again and reads only what is new (the part that
    now holds it), keeping what it read: a reader slower than the writer's compactions still
    finishes. Callers drop the duplicates a small file and its part give. Still changing after
    :data:`CATCH_UP_ROUNDS` listings: :class:`_Retry`.
    """
    fmt = ds.ParquetFileFormat()
    fs = arrow_source(directory)[1] or pafs.LocalFileSystem()
    fragments: dict[StoragePath, Any] = {}
    schemas: dict[StoragePath, pa.Schema] = {}
    tables: list[pa.Table] = []
    target: pa.Schema | None = None
    pending = files
    for _ in range(CATCH_UP_ROUNDS):
        vanished = False
        for f in sorted(pending, key=_is_part):  # small files first: a compaction deletes them
            fragment = fmt.make_fragment(arrow_source(f)[0], fs)
            try:
                schemas[f] = fragment.physical_schema
            except FileNotFoundError:
                vanished = True
                continue
            except (pa.ArrowException, OSError):
                return None
            if _schema_problem(schemas[f], required):
                return None
            fragments[f] = fragment
        columns = [_columns(s, required) for s in schemas.values()]
        now, common = _target(columns, required)
        if any(not set(common) <= set(c) for c in columns) or (target is not None and not now.equals(target)):
            return None
        target = now
        new = [f for f in pending if f in fragments]
        for batch in ([f for f in new if not _is_part(f)], [f for f in new if _is_part(f)]):
            read = _scan([fragments[f] for f in batch], target, fmt, fs)
            if read is None:
                return None
            tables += read[0]
            vanished = vanished or read[1]
        if not vanished:
            table = pa.concat_tables(tables) if tables else target.empty_table()
            return None if _row_problem(table, required) else table
        try:
            listing = _visible(directory)
        except OSError as exc:
            raise _io_failure(directory, exc) from None
        pending = [f for f in listing if f not in fragments]
    raise _Retry(f"{directory}: files kept changing through {CATCH_UP_ROUNDS} listings")


def _scan(fragments: list[Any], target: pa.Schema, fmt: Any, fs: Any) -> tuple[list[pa.Table], bool] | None:
    """The fragments' rows as ``target`` and whether one vanished meanwhile (its rows are then in a
    new part); None when one cannot be read (a closer look decides)."""
    if not fragments:
        return [], False
    try:
        return [ds.FileSystemDataset(fragments, target, fmt, fs).to_table()], False
    except FileNotFoundError:
        pass
    except (pa.ArrowException, OSError):
        return None
    tables, vanished = [], False
    for fragment in fragments:  # one by one: which vanished
        try:
            tables.append(fragment.to_table(schema=target))
        except FileNotFoundError:
            vanished = True
        except (pa.ArrowException, OSError):
            return None
    return tables, vanished


def _read_once(directory: StoragePath, required: Sequence[str]) -> pa.Table | None:
    try:
        files = _visible(directory)
    except OSError as exc:
        raise _io_failure(directory, exc) from None
    if not files:
        return None
    table = _fast(directory, files, required)
    if table is not None:
        return table
    _, problems = _inspect(files, required)
    if problems:
        path, reason = next(iter(problems.items()))
        raise _damaged(path, reason)
    raise _Retry(f"{directory}: the files read whole one by one but not together")  # changed in between


READ_DEADLINE_S = 5.0
"""How long a reader tries again while a writer replaces files (or the machine refuses a read)."""


def _retrying(attempt: Callable[[], Any], what: StoragePath, deadline_s: float | None = None,
              sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Any:
    """``attempt()`` until it does not raise :class:`_Retry`, waiting 50 ms, 100 ms, … (at most 1 s,
    jittered so that pollers do not march in step) for :data:`READ_DEADLINE_S` in all; then
    :class:`StoreReadError` with the last cause (exit code 1: a race or the machine, not bad input)."""
    deadline_s = READ_DEADLINE_S if deadline_s is None else deadline_s
    start, delay, tries = clock(), 0.05, 0
    while True:
        try:
            return attempt()
        except _Retry as exc:
            tries += 1
            left = deadline_s - (clock() - start)
            if left <= 0:
                raise StoreReadError(f"{what}: cannot read the results ({exc}; {tries} tries in {deadline_s:g} s); "
                                     "nothing stored was changed: try again (is another process writing this "
                                     "study, or the disk failing?)") from None
            log.debug("reading %s again: %s", what, exc)
            sleep(min(left, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, 1.0)


def _read(directory: StoragePath, required: Sequence[str]) -> pd.DataFrame:
    """Every visible file of a dataset directory as the declared columns (others ignored);
    :class:`StoreError` names a damaged file, :class:`StoreReadError` a read that kept failing."""
    table = _retrying(lambda: _read_once(directory, required), directory)
    return pd.DataFrame() if table is None else table.to_pandas()


def read_trials(study_dir: str | StoragePath) -> pd.DataFrame:
    """All stored trials of a study (a directory or ``s3://…``; empty frame when none), by trial id.

    Raises :class:`StoreError` naming the file when one is damaged.
    """
    df = _read(location(study_dir) / RESULTS_DIR / TRIALS_DIR, REQUIRED_TRIAL_COLUMNS)
    if not df.empty:
        df = df.drop_duplicates("trial_id").sort_values("trial_id", ignore_index=True)
        df = _unscored_diverged(df)
        df = _one_generator(df, study_dir)
        df = _suggested_by_from_config(df)
        df = _migrate(df, study_dir)
        df = df[sorted(df.columns, key=_column_rank)]
    return df


def _column_rank(column: str) -> tuple[int, int]:
    """Where a column stands in a read frame: as :func:`trial_columns` writes them (fixed columns,
    metrics, ``hp_*``, tail columns), then columns not gansweep's (a colleague's). The order does not
    depend on which file a reader happened to list first (old files lack the added columns)."""
    base = [name for name, _ in BASE_COLUMNS]
    tail = [name for name, _ in TAIL_COLUMNS]
    if column in base:
        return 0, base.index(column)
    if column in tail:
        return 3, tail.index(column)
    if column.startswith("hp_"):
        return 2, 0
    return (1, 0) if column in _metric_keys() else (4, 0)


def _migrate(df: pd.DataFrame, study_dir: str | StoragePath) -> pd.DataFrame:
    """Rows of any gansweep version as this one writes them: renamed columns under their new
    name, integer columns as nullable Int64, and what older rows left out derived where the row
    says it (``seed`` from its config, ``best_step`` from its evaluations, a sequential
    strategy's initial design named in ``suggested_by``)."""
    df = df.copy()
    for old, (new, _) in RENAMED_TRIAL_COLUMNS.items():
        if old in df.columns:
            df[new] = df[new].fillna(df[old]) if new in df.columns else df[old]
            df = df.drop(columns=old)
    if "config" in df.columns and "seed" in df.columns:
        missing = df.seed.isna() & df.config.notna()
        if missing.any():
            seeds = pd.to_numeric(df.config[missing].map(_config_seed), errors="coerce")
            df["seed"] = pd.to_numeric(df.seed, errors="coerce").astype("Float64")
            df.loc[missing, "seed"] = seeds.astype("Float64")
    if "best_step" in df.columns:
        df = _best_step_from_evals(df, study_dir)
    for col in INTEGER_TRIAL_COLUMNS:
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce").round().astype("Int64")
    if {"suggested_by", "strategy", "round"} <= set(df.columns):
        from gansweep.search.specs import initial_design_label

        first = (df["round"] == 0).fillna(False) & (df.suggested_by == df.strategy)
        if first.any():
            df.loc[first, "suggested_by"] = df.loc[first, "suggested_by"].map(initial_design_label)
    return df


def _config_seed(text: str) -> int | None:
    try:
        value = stored_json(text)
    except ValueError:
        return None
    seed = value.get("seed") if isinstance(value, dict) else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**63 else None


def _best_step_from_evals(df: pd.DataFrame, study_dir: str | StoragePath) -> pd.DataFrame:
    """Rows stored before ``best_step`` existed: the first evaluation whose metric equals the score
    (what a trial keeps: its first best evaluation)."""
    lacking = df.best_step.isna() & df.score.notna() & df.status.isin(SCORED)
    if not lacking.any():
        return df
    evals = read_evals(study_dir)
    metrics = [c for c in evals.columns if c not in _EVAL_ONLY]
    if evals.empty or not metrics:
        return df
    rows = df.loc[lacking, ["trial_id", "score"]]
    ev = evals[_among(evals.trial_id, rows.trial_id)].merge(rows, on="trial_id")
    match = np.zeros(len(ev), dtype=bool)
    for m in metrics:
        match |= (pd.to_numeric(ev[m], errors="coerce") == ev.score).to_numpy()
    first = ev[match].sort_values("step").drop_duplicates("trial_id").set_index("trial_id").step
    if first.empty:
        return df
    df["best_step"] = pd.to_numeric(df.best_step, errors="coerce").astype("Float64")
    df.loc[lacking, "best_step"] = pd.to_numeric(df.loc[lacking, "trial_id"].map(first)).astype("Float64")
    return df


def _unscored_diverged(df: pd.DataFrame) -> pd.DataFrame:
    """A ``completed`` or ``stopped`` row without a finite score (written by another tool, or by
    hand) reads as ``diverged``, as the writer stores one: a result without a score is no success,
    and one such row must not make the study's best score unknown."""
    score = pd.to_numeric(df.score, errors="coerce")
    bad = df.status.isin(SCORED) & ~np.isfinite(score.astype(float))
    if bad.any():
        df = df.copy()
        if "error" in df.columns:
            df.loc[bad & df.error.isna(), "error"] = "score is not finite"
        df.loc[bad, "status"] = Status.DIVERGED.value
    return df


def _suggested_by_from_config(df: pd.DataFrame) -> pd.DataFrame:
    """Rows written while ``suggested_by`` lived only in the trial's config JSON get their column
    from it; rows stored before either stay null."""
    if "config" not in df.columns:
        return df
    missing = df.suggested_by.isna() & df.config.notna()
    if missing.any():
        df = df.copy()
        df.loc[missing, "suggested_by"] = df.config[missing].map(_config_suggested_by)
    return df


def _config_suggested_by(text: str) -> str | None:
    try:
        value = stored_json(text)
    except ValueError:  # a damaged config says nothing about who suggested the trial
        return None
    by = value.get("suggested_by") if isinstance(value, dict) else None
    return by if isinstance(by, str) else None


_RESOLVED_MARK = '"metrics": {'  # a row's config since rows describe one generator (resolved trial)
_EVAL_ONLY = {"trial_id", "step", "seconds", "diagnostics"}


def _one_generator(df: pd.DataFrame, study_dir: str | StoragePath) -> pd.DataFrame:
    """Rows stored before a row described one generator held each metric's own best over the
    trial's evaluations; their metric columns are re-derived here from ``results/evals``: those of
    the evaluation that produced ``score`` (the first whose primary metric equals it, the one whose
    generator the trial kept). Rows written since carry their resolved config and are left as they are.
    """
    if "config" not in df.columns:
        return df
    old = ~df.config.fillna("").str.contains(_RESOLVED_MARK, regex=False) & df.score.notna()
    if not old.any():
        return df
    evals = read_evals(study_dir)
    if evals.empty:
        return df
    metrics = [c for c in evals.columns if c not in _EVAL_ONLY and c in df.columns]
    if not metrics:
        return df
    from gansweep.metrics.specs import METRICS  # torch-free

    # the primary is one of the lower-is-better metrics whose value equals the score (old rows held
    # the primary's best, which is the score); try those first, the others only if none matches
    order = [m for m in metrics if not m.endswith("_std")]
    order.sort(key=lambda m: m in METRICS and METRICS[m].higher_is_better)
    old_rows = df.loc[old, ["trial_id", "score"]]
    ev = evals[_among(evals.trial_id, old_rows.trial_id)].merge(old_rows, on="trial_id")
    chosen, left = [], ev
    for m in order:  # vectorised: the first evaluation (by step) whose m equals the score, per trial
        first = left[left[m] == left.score].sort_values("step").drop_duplicates("trial_id")
        chosen.append(first)
        left = left[~_among(left.trial_id, first.trial_id)]
    picked = pd.concat(chosen).set_index("trial_id")[metrics] if chosen else None
    if picked is None or picked.empty:
        return df
    df = df.set_index("trial_id")
    df.loc[picked.index, metrics] = picked.to_numpy()
    return df.reset_index()


def _among(ids: pd.Series, values: Iterable[str]) -> np.ndarray:
    """``ids.isin(values)`` for trial ids, in pyarrow: pandas 3's string ``isin`` converts each value
    to a scalar in Python (5 of 9 s reading a 100,000-trial store)."""
    import pyarrow.compute as pc

    wanted = pa.array(values if isinstance(values, pd.Series) else list(values), type=pa.large_string(),
                      from_pandas=True)
    have = pa.array(ids, type=pa.large_string(), from_pandas=True)
    return pc.is_in(have, value_set=wanted).to_numpy(zero_copy_only=False).astype(bool)


def read_evals(study_dir: str | StoragePath) -> pd.DataFrame:
    """All stored evaluations of stored trials, ordered by trial id and step.

    Evaluations whose trial row is not committed (a crash between the two renames) are left out.
    """
    study_dir = location(study_dir)
    df = _read(study_dir / RESULTS_DIR / EVALS_DIR, REQUIRED_EVAL_COLUMNS)
    if not df.empty:
        df = df[_among(df.trial_id, stored_trial_ids(study_dir))]
        df = df.drop_duplicates(["trial_id", "step"]).sort_values(["trial_id", "step"], ignore_index=True)
    return df


def stored_trial_ids(study_dir: str | StoragePath) -> set[str]:
    """Ids of the stored trials, reading file names and part files' ``trial_id`` column only."""
    trials = location(study_dir) / RESULTS_DIR / TRIALS_DIR
    ids: set[str] = set()
    for p in _visible(trials):
        if _is_part(p):
            ids.update(_part_ids(p))
        else:
            ids.add(p.stem)
    return ids


# -- damage ----------------------------------------------------------------------------------------

def damaged_files(study_dir: str | StoragePath) -> list[tuple[StoragePath, str]]:
    """Every file of the store that cannot give the declared columns, with the reason (reads every
    file whole). Columns that are not ours and other encodings of ours are no damage; a read that
    keeps failing for the machine or a race is :class:`StoreReadError`, so nothing is set aside for it."""
    results = location(study_dir) / RESULTS_DIR
    bad: list[tuple[StoragePath, str]] = []
    for sub, required in ((TRIALS_DIR, REQUIRED_TRIAL_COLUMNS), (EVALS_DIR, REQUIRED_EVAL_COLUMNS)):
        directory = results / sub

        def scan(directory: StoragePath = directory, required: Sequence[str] = required) -> dict[StoragePath, str]:
            try:
                files = _visible(directory)
            except OSError as exc:
                raise _io_failure(directory, exc) from None
            return _inspect(files, required)[1]

        bad += list(_retrying(scan, directory).items())
    return bad


def quarantine_damaged(study_dir: str | StoragePath, before: Callable[[], None] | None = None) -> list[StoragePath]:
    """Move damaged files, with their pair, to ``results/quarantine/<time>/``; returns the moved files.

    ``before`` runs once before the first move (the driver marks Tune's experiment stale there:
    it holds the moved trials as finished, and a crash mid-way must not let it be restored).

    A trial whose row or evaluations were in a moved file is no longer stored, so ``gansweep
    resume`` runs it again. Cheap when nothing is damaged: one validated read of each dataset;
    the file-by-file scan runs only when that read fails.
    """
    study_dir = location(study_dir)
    try:
        read_trials(study_dir)
        read_evals(study_dir)
        return []
    except StoreError:
        pass
    results = study_dir / RESULTS_DIR
    # the time names it for people; the suffix keeps it apart from an earlier one of the same second
    # (or of a clock set back): moved onto an earlier quarantine's files, those would be lost
    target = results / QUARANTINE_DIR / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    moved: list[StoragePath] = []
    notes: list[str] = []
    damaged = damaged_files(study_dir)
    if damaged and before is not None:
        before()
    for path, reason in damaged:
        for sub in (TRIALS_DIR, EVALS_DIR):  # a trial's row and its evaluations go together
            src = results / sub / path.name
            if not src.exists():
                continue
            dst = target / sub / path.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            move(src, dst)
            moved.append(dst)
        notes.append(f"{path.parent.name}/{path.name}: {reason}")
        log.warning("%s: damaged (%s); moved to %s, its trials will run again", path, reason, target)
    if notes:
        (target / "REASONS.txt").write_text("\n".join(notes) + "\n")
    return moved
