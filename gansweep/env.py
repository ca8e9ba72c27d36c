"""Every environment variable gansweep reads, declared once: name, type, bounds, default, doc.

Consumers read through :func:`get`, so a bad value is one line naming the variable and what is
allowed (exit code 2), never a traceback deep in a worker; the CLI calls :func:`check` at start so
the mistake surfaces before anything runs. docs/ENVIRONMENT.md lists these.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gansweep.errors import GansweepError

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Var:
    name: str
    parse: Callable[[str], Any]  # raises ValueError with what is allowed
    default: Any
    doc: str


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError(f"must be one of {', '.join(TRUE + FALSE)}")


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"must be an integer in [{low}, {high}]") from None
        if not low <= value <= high:
            raise ValueError(f"must be an integer in [{low}, {high}]")
        return value
    return parse


def _number(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"must be a number in ({low:g}, {high:g}]") from None
        if not (math.isfinite(value) and low < value <= high):
            raise ValueError(f"must be a number in ({low:g}, {high:g}]")
        return value
    return parse


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.strip() not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return raw.strip()
    return parse


def _path(raw: str) -> str:
    if "\x00" in raw or len(raw) > 4096:
        raise ValueError("must be a path (no NUL, at most 4096 characters)")
    return os.path.expanduser(raw)


def _absolute_path(raw: str) -> str:
    path = _path(raw)
    if not os.path.isabs(path):
        raise ValueError("must be an absolute path (trials run in other directories and on other machines)")
    return path


VARIABLES: dict[str, Var] = {v.name: v for v in (
    Var("GANSWEEP_DATA", _absolute_path, None, "data root of the real data sets when the study sets no data.root"),
    Var("GANSWEEP_DOWNLOAD", _flag, False, "let `data prepare` and trials download CIFAR10 when it is missing"),
    Var("GANSWEEP_DATA_MAX_GB", _number(0.0, 1e4), 16.0, "GiB of float32 training images a trial holds in memory"),
    Var("GANSWEEP_INCEPTION_WEIGHTS", _path, None, "the Inception-v3 weights file (FID, IS, KID)"),
    Var("GANSWEEP_OFFLINE", _flag, False, "never try to download Inception weights"),
    Var("GANSWEEP_CACHE", _path, None, "cache of reference features and the digits classifier "
        "(default ~/.cache/gansweep)"),
    Var("GANSWEEP_STORE_COMPACT_AT", _integer(0, 1_000_000), 500, "small result files that trigger a "
        "compaction; 0: never"),
    Var("GANSWEEP_STORE_FSYNC", _flag, True, "flush every result file to disk before it becomes visible"),
    Var("GANSWEEP_SEARCH_WORKERS", _integer(1, 256), None, "threads/processes that fit GP and Optuna "
        "models (default: half the CPUs, at most 4)"),
    Var("GANSWEEP_PROGRESS_EVERY", _number(0.0, 86400.0), 60.0, "seconds between the progress summaries "
        "`run` and `resume` print when stdout is not a terminal (a log file)"),
    Var("GANSWEEP_SEARCH_EXECUTOR", _choice("thread", "process"), "thread", "where search models are fitted"),
)}


def get(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The variable's value, parsed and checked; its default when unset or empty."""
    var = VARIABLES[name]
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None or raw.strip() == "":
        return var.default
    try:
        return var.parse(raw)
    except ValueError as exc:
        shown = raw if len(raw) <= 40 else raw[:39] + "…"
        raise GansweepError(f"environment variable {name}={shown!r}: {exc}") from None


def check(environ: Mapping[str, str] | None = None) -> None:
    """Refuse a bad value of any variable at start, before anything runs."""
    for name in VARIABLES:
        get(name, environ)
