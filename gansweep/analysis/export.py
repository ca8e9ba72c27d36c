"""Export a study's stored results as two single files, for analysis in other tools.

Why this module exists: ``results/`` is a directory of one Parquet file per trial (so that writes
are atomic and idempotent); users of spreadsheets, R or other pipelines want one ``trials`` and
one ``evals`` file (and ``confirmed``, the confirmation stage's rows). All are written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from gansweep.analysis.figures.common import write_output
from gansweep.analysis.loading import check_study_dir, output_dir
from gansweep.errors import GansweepError
from gansweep.store import read_evals, read_trials
from gansweep.store.studydir import EXPORT_DIR

FORMATS = ("csv", "parquet")


def export_study(study_dir: str | Path, fmt: Literal["csv", "parquet"] = "csv",
                 dest: str | Path | None = None) -> list[Path]:
    """Write ``trials.<fmt>`` and ``evals.<fmt>`` into ``dest`` (default ``study_dir/export``, or
    ``./<name>/export`` for a study in a bucket).

    Returns the paths written; ``evals`` is left out when no evaluation is stored, ``confirmed`` (the
    confirmation's rows, one per configuration and seed: docs/CONFIRM.md) when there is no confirmation. Raises
    NotAStudyError for a directory that is not a study, GansweepError for an unknown format or
    when no trial is stored yet.
    """
    path = check_study_dir(study_dir)
    if fmt not in FORMATS:
        raise GansweepError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    trials = read_trials(path)
    if trials.empty:
        raise GansweepError(f"{path}: no results yet (results/trials holds no trial)")
    out_dir = Path(dest) if dest is not None else output_dir(path) / EXPORT_DIR
    if out_dir.exists() and not out_dir.is_dir():
        raise GansweepError(f"{out_dir}: exists and is not a directory")
    from gansweep.analysis.confirmed import read_confirmed

    written = []
    for name, frame in (("trials", trials), ("evals", read_evals(path)), ("confirmed", read_confirmed(path))):
        if frame.empty:
            continue
        target = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            written.append(write_output(target, lambda out, f=frame: f.to_csv(out, index=False)))
        else:
            written.append(write_output(target, lambda out, f=frame: f.to_parquet(out, index=False)))
    return written
