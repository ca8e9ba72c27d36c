"""The study directory's layout: its files, its lock, where it may be, and telling a study
directory from anything else. It belongs to the store layer because everyone reads it: the
driver that writes a study, the analysis that reads one, the command line.

It also remembers the study *as planned* (``gansweep.json``: the study and its fingerprint), so
``resume`` can tell a safe edit of ``study.yaml`` (more rounds) from one that would change
trials already run (:mod:`gansweep.driver.resume`), and whether Tune's saved experiment still
describes the study (it does not after a safe edit or once damaged results were set aside: the
driver then starts a new experiment whose searcher skips every stored trial).

The directory is local (a ``Path``) or on an object store (an :class:`~gansweep.storage.ObjectPath`,
``s3://bucket/runs/<name>``); there the lock is a lease object, since ``flock`` does not exist
(both in :mod:`gansweep.lock`). Its files are read through :mod:`gansweep.storage`'s gateway: a
study directory may come from someone else, and nothing in it is followed out of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gansweep.errors import GansweepError, NotAStudyError
from gansweep.lock import LOCK_FILE, STUDY_FILE, StudyLock, study_lock  # noqa: F401  (the study's lock, beside its files)
from gansweep.storage import (ObjectPath, StoragePath, atomic_write, location, read_file, refuse_links, scratch_dir,
                              stored_json)
from gansweep.study import Study, dump_study
from gansweep.store.parquet import RESULTS_DIR
from gansweep.study.load import study_from_bytes

log = logging.getLogger(__name__)

META_FILE = "gansweep.json"
TUNE_DIR = "tune"  # Ray Tune's experiment (its name)
# what the analysis writes beside the results (in the study directory, or in --out)
PLOTS_DIR = "plots"  # plots/<figure>.png and the plotted data, plots/<figure>.csv
SAMPLES_DIR = "samples"  # samples/<trial_id>.png
REPORT_FILE = "report.html"
EVALUATIONS_FILE = "evaluations.csv"  # gansweep evaluate
EXPORT_DIR = "export"  # gansweep export
SYSTEM_DIRS = ("/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr")


def _protected() -> list[tuple[Path, str]]:
    # this file's package, not ``gansweep.__file__``: a ``gansweep/`` folder in the working directory
    # makes ``python -m gansweep.cli`` see a namespace package whose ``__file__`` is None
    out = [(Path(__file__).resolve().parents[1], "gansweep's source code")]
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        out.append((Path(prefix).resolve(), "the Python installation"))
    return out


def check_output_path(path: str | Path, where: str | None = None) -> None:
    """Refuse a study directory inside gansweep's source, the Python installation or a system directory.

    ``where`` (e.g. ``"study.yaml: output"``) starts the message when the path comes from a file.
    """
    text = str(path)
    if "://" in text:  # object storage URIs are checked by their file system
        return
    p = Path(path).expanduser().resolve()
    start = f"{where}: {path}" if where else f"{path}"
    fix = "choose another output directory (the study's 'output' or --out)"
    for root, what in _protected():
        if p == root or root in p.parents:
            raise GansweepError(f"{start}: inside {what} ({root}); {fix}")
    for d in SYSTEM_DIRS:  # "/" itself, and anything inside the others
        root = Path(d)
        if p == root or (d != "/" and root in p.parents):
            raise GansweepError(f"{start}: inside the system directory {root}; {fix}")


def fingerprint(study: Study) -> str:
    """sha256 of the study's canonical JSON: equal for equal studies, whatever the YAML looked like.
    A study without ``confirm`` hashes as before that field existed (studies planned then still match)."""
    data = study.model_dump(mode="json")
    if data.get("confirm") is None:
        data.pop("confirm", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StudyDir:
    path: StoragePath

    def __post_init__(self) -> None:
        check_output_path(self.path)

    @property
    def study_file(self) -> StoragePath:
        return self.path / STUDY_FILE

    @property
    def tune_dir(self) -> StoragePath:
        return self.path / TUNE_DIR

    @property
    def results_dir(self) -> StoragePath:
        return self.path / RESULTS_DIR

    @property
    def cache_dir(self) -> Path:
        """Reference statistics of the metrics: in the study locally, on each node's disk otherwise."""
        return scratch_dir(self.path, "cache")

    def exists(self) -> bool:
        return self.study_file.is_file()

    @property
    def meta_file(self) -> StoragePath:
        return self.path / META_FILE

    def create(self, study: Study, meta: dict[str, Any]) -> None:
        meta = {**meta, "fingerprint": fingerprint(study), "planned": study.model_dump(mode="json")}
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            _atomic_text(self.study_file, dump_study(study))
            _atomic_text(self.meta_file, json.dumps(meta, indent=2))
        except OSError as exc:
            raise GansweepError(f"{self.path}: cannot create the study directory ({exc.strerror or exc}); "
                                "choose a writable output directory (the study's 'output' or --out)") from None

    def load(self) -> tuple[Study, dict[str, Any]]:
        if not self.exists():
            raise NotAStudyError(f"{self.path}: not a study directory (no {STUDY_FILE}); "
                                 "give the directory that 'gansweep run' created, e.g. runs/<name>")
        source = str(self.study_file)
        study = study_from_bytes(read_file(self.study_file), source)
        return study, self._meta()

    def _meta(self) -> dict[str, Any]:
        if not self.meta_file.is_file():
            return {}
        try:
            meta = stored_json(read_file(self.meta_file))
        except (OSError, ValueError) as exc:
            raise NotAStudyError(f"{self.meta_file}: unreadable ({exc}); restore it or start the study again") from None
        if not isinstance(meta, dict):
            raise NotAStudyError(f"{self.meta_file}: not a JSON object; restore it or start the study again")
        return meta

    def mode(self, meta: dict[str, Any]) -> bool:
        """Whether the study is a dry run, as recorded when it was created; refused when unknown.

        The stored rows do not say it (a synthetic row looks like a trained one), and guessing
        "real" would train GANs into a dry run's results: ``resume`` refuses instead.
        """
        dry = meta.get("dry_run")
        if isinstance(dry, bool):
            return dry
        what = "missing" if not meta else "without a true/false 'dry_run'"
        over = ("start over with 'gansweep run --force'" if is_study_dir(self.path) else
                f"start over: move {self.path} away (--force deletes only a study with both files), then 'gansweep run'")
        raise NotAStudyError(f"{self.meta_file}: {what}; it records whether this study is a dry run and what was "
                             f"planned, which the results cannot tell: restore it from where the study came from, "
                             f"or {over}")

    def _write_meta(self, meta: dict[str, Any]) -> None:
        from gansweep.store.parquet import StoreWriteError

        try:
            _atomic_text(self.meta_file, json.dumps(meta, indent=2))
        except OSError as exc:
            raise StoreWriteError(f"{self.meta_file}: cannot write ({exc.strerror or exc}); nothing stored "
                                  f"was changed; free some space, then {resume_advice(self.path)}") from None

    # -- Tune's saved experiment: whether it still describes the study -----------------------------
    def mark_tune_stale(self, reason: str) -> None:
        """Tune's saved experiment no longer matches the store or the plan: resume starts a new one."""
        meta = self._meta()
        meta["tune_stale"] = reason
        self._write_meta(meta)

    def tune_stale(self) -> str | None:
        """Why Tune's saved experiment must not be restored, or None."""
        return self._meta().get("tune_stale")

    def clear_tune_stale(self) -> None:
        """Called once the stale experiment is gone (after ``shutil.rmtree(tune_dir)``)."""
        meta = self._meta()
        if meta.pop("tune_stale", None) is not None:
            self._write_meta(meta)


def resume_command(path: StoragePath | str) -> str:
    """``gansweep resume DIR``, DIR shell-quoted where it needs it (a space, ``#``, ``?``): pastable as printed."""
    return f"gansweep resume {shlex.quote(str(path))}"


def resume_advice(path: StoragePath | str) -> str:
    """``'gansweep resume DIR'`` in a sentence; without the outer quotes where DIR itself is quoted."""
    command = resume_command(path)
    return f"'{command}'" if "'" not in command else command


def is_study_dir(path: StoragePath) -> bool:
    """Whether ``path`` holds this tool's own markers: ``study.yaml`` and ``gansweep.json`` as plain files.

    What ``run --force`` may delete. A folder that merely exists (a thesis with its own study.yaml),
    or one whose markers are links to elsewhere, is not a study: nothing there is provably gansweep's.
    """
    if isinstance(path, ObjectPath):  # a bucket has no links: its policy says who writes there
        return (path / STUDY_FILE).is_file() and (path / META_FILE).is_file()
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return False
        return all(stat.S_ISREG(os.lstat(path / name).st_mode) for name in (STUDY_FILE, META_FILE))
    except OSError:  # missing, unreadable, a name too long: not provably a study
        return False


def is_vacant(path: StoragePath) -> bool:
    """Missing, or an empty directory (a lone plain lock file is what a refused start leaves)."""
    if not path.exists():
        return True
    if isinstance(path, Path) and (path.is_symlink() or not path.is_dir()):
        return False
    entries = list(path.iterdir())
    lone_lock = len(entries) == 1 and entries[0].name == LOCK_FILE and (
        not isinstance(path, Path) or stat.S_ISREG(os.lstat(entries[0]).st_mode))
    return not entries or lone_lock


def require_study_dir(path: str | StoragePath) -> StudyDir:
    p = location(path)
    if p.is_file():
        raise NotAStudyError(f"{p}: is a file; give the study directory that 'gansweep run' created "
                             "(runs/<name>; a study file is run with 'gansweep run')")
    if not p.is_dir():
        raise NotAStudyError(f"{p}: no such study directory")
    sd = StudyDir(p)
    if not sd.exists():
        raise NotAStudyError(f"{p}: not a study directory (no {STUDY_FILE}); "
                             "give the directory that 'gansweep run' created, e.g. runs/<name>")
    refuse_links(p)  # before anything reads, writes or hands a path inside it to pyarrow or Tune
    return sd


def _atomic_text(path: StoragePath, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))
