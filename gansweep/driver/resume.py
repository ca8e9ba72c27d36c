"""What ``resume`` (and ``confirm``) check in a study directory before Tune starts: an edited
``study.yaml`` (safe edits accepted and recorded, unsafe ones refused with a diff), Tune state that
is not provably this user's (never unpickled), damaged results files (set aside, their trials run
again). The directory's layout and its records are :mod:`gansweep.store.studydir`'s; these are the
driver's decisions about them.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from pathlib import Path
from typing import Any

from gansweep.driver.guard import check_resumable
from gansweep.driver.trust import unverified
from gansweep.storage import ObjectPath
from gansweep.store import quarantine_damaged
from gansweep.store.studydir import StudyDir, fingerprint
from gansweep.study import Study, study_from_data

log = logging.getLogger(__name__)


def accept_edits(sd: StudyDir, study: Study) -> list[Any]:
    """Compare ``study.yaml`` now with the study as planned; refuse unsafe edits with a diff.

    Safe edits are recorded (the new study becomes the planned one) and mark Tune's saved
    experiment stale, since it still holds the old plan. Returns the accepted changes.
    """
    meta = sd._meta()
    planned = meta.get("planned")
    if planned is None:  # created by a gansweep that did not record it
        log.warning("%s: no planned study recorded; cannot check study.yaml for edits", sd.path)
        return []
    if meta.get("fingerprint") == fingerprint(study):
        return []
    old = study_from_data(planned, f"{sd.meta_file} (planned study)")
    changes = check_resumable(old, study, str(sd.study_file))
    if changes:
        meta["fingerprint"] = fingerprint(study)
        meta["planned"] = study.model_dump(mode="json")
        meta.setdefault("accepted_changes", []).append(
            {"at": _now(), "changes": [str(c).strip() for c in changes]})
        meta["tune_stale"] = "study.yaml changed: " + ", ".join(c.path for c in changes)
        sd._write_meta(meta)
    return changes


def untrusted_tune_files(sd: StudyDir) -> list[Path]:
    """Files of Tune's saved experiment that ``Tuner.restore`` would unpickle but another user could
    have written: owned by someone else, or writable by group or others. On an object store
    there are no owners to check: the bucket's access policy decides who may write there."""
    if isinstance(sd.tune_dir, ObjectPath) or not sd.tune_dir.is_dir():
        return []
    uid = os.getuid()
    out = []
    for p in [sd.tune_dir, *sorted(sd.tune_dir.iterdir())]:
        if p.is_dir() and p != sd.tune_dir:
            continue  # trial directories: checkpoints load with torch.load(weights_only=True)
        st = p.lstat()
        if st.st_uid != uid or st.st_mode & 0o022 or p.is_symlink():
            out.append(p)
    return out


def untrusted_tune_state(sd: StudyDir) -> str | None:
    """Why Tune's saved experiment must not be unpickled (None: it is this user's, signed here)."""
    foreign = untrusted_tune_files(sd)
    if foreign:
        return f"{foreign[0].name} is not yours (or others can write it)"
    return unverified(sd.path)


def prepare_resume(sd: StudyDir, study: Study, trust: bool = False) -> list[str]:
    """Everything ``resume`` checks before Tune starts, under the study lock; returns notes to show.

    Refuses an unsafe edit of ``study.yaml`` (a diff), accepts a safe one, declines to unpickle
    Tune state that is not provably this user's (unsigned, or writable by others; ``trust``
    overrides), and moves damaged results files to ``results/quarantine/`` so their trials run again.
    """
    notes = [f"study.yaml changed safely: {str(c).strip()}" for c in accept_edits(sd, study)]
    why = None if trust or sd.tune_stale() else untrusted_tune_state(sd)
    if why:
        notes.append(f"{sd.tune_dir}: {why}; Tune's saved experiment is a pickle and is not loaded: the "
                     "study continues from its results (unfinished trials start again; 'gansweep resume "
                     "--trust' loads it if you know where it came from)")
        sd.mark_tune_stale(f"untrusted: {why}")
    elif trust and sd.tune_dir.exists():
        log.warning("%s: --trust: loading Tune's saved experiment without checking who wrote it", sd.tune_dir)
    moved = quarantine_damaged(sd.path, before=lambda: sd.mark_tune_stale("damaged results set aside"))
    if moved:
        where = moved[0].parent.parent
        notes.append(f"{len(moved)} damaged results file(s) moved to {where}; their trials run again")
    return notes


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
