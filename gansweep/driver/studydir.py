"""The study directory: its files, its lock, and telling a study directory from anything else."""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gansweep.errors import GansweepError, NotAStudyError
from gansweep.study import Study, dump_study, study_from_data
from gansweep.study.load import parse_yaml

STUDY_FILE = "study.yaml"
META_FILE = "gansweep.json"
LOCK_FILE = ".lock"


@dataclass(frozen=True)
class StudyDir:
    path: Path

    @property
    def study_file(self) -> Path:
        return self.path / STUDY_FILE

    @property
    def tune_dir(self) -> Path:
        return self.path / "tune"

    @property
    def results_dir(self) -> Path:
        return self.path / "results"

    @property
    def cache_dir(self) -> Path:
        return self.path / "cache"

    def exists(self) -> bool:
        return self.study_file.is_file()

    def create(self, study: Study, meta: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        _atomic_text(self.study_file, dump_study(study))
        _atomic_text(self.path / META_FILE, json.dumps(meta, indent=2))

    def load(self) -> tuple[Study, dict[str, Any]]:
        if not self.exists():
            raise NotAStudyError(f"{self.path}: not a study directory (no {STUDY_FILE}); "
                                 "give the directory that 'gansweep run' created, e.g. runs/<name>")
        source = str(self.study_file)
        study = study_from_data(parse_yaml(self.study_file.read_text(), source), source)
        meta_path = self.path / META_FILE
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        return study, meta


def require_study_dir(path: str | Path) -> StudyDir:
    p = Path(path)
    if not p.is_dir():
        raise NotAStudyError(f"{p}: no such study directory")
    sd = StudyDir(p)
    if not sd.exists():
        raise NotAStudyError(f"{p}: not a study directory (no {STUDY_FILE}); "
                             "give the directory that 'gansweep run' created, e.g. runs/<name>")
    return sd


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(text)
    os.replace(tmp, path)


class StudyLock:
    """An exclusive, non-blocking lock: two drivers never write one study."""

    def __init__(self, study_dir: Path) -> None:
        self.path = study_dir / LOCK_FILE
        self._f: IO[str] | None = None

    def __enter__(self) -> StudyLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            owner = f.read().strip() or "?"
            f.close()
            raise GansweepError(f"{self.path.parent}: another gansweep driver (pid {owner}) is running "
                                "this study; wait for it or stop it first") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._f = f
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._f is not None:
            fcntl.flock(self._f, fcntl.LOCK_UN)
            self._f.close()
            self._f = None
