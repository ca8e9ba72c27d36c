"""Whether Tune's saved experiment may be unpickled: only when this user's gansweep wrote it here.

``Tuner.restore`` unpickles ``tune/tuner.pkl``, the searcher's state and the experiment state
(whose JSON carries cloudpickled values): loading them runs whatever code they name. A study
directory is copied, synced and unpacked, so its files prove nothing about who wrote them.
The driver therefore signs every file of Tune's experiment with an HMAC whose key never leaves
this user's config directory (``$XDG_CONFIG_HOME/gansweep/tune.key``, else
``~/.config/gansweep/tune.key``, mode 0600): as Tune writes them (each controller step), at the
end of ``fit`` and on an interrupt. ``resume`` restores Tune's experiment only when every file
matches its signature; otherwise it continues from gansweep's own store (nothing is lost but the
progress of unfinished trials), unless the user says ``--trust``.

A driver killed between Tune's write of its state and the next signing leaves a signature that
does not match: the same continuation from the store, never a pickle loaded unchecked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import time
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
from ray.tune import Callback

from gansweep.storage import ObjectPath, StoragePath, UnsafePathError, atomic_write, read_file

log = logging.getLogger(__name__)

KEY_FILE = "tune.key"
SIGNATURE_FILE = "tune-signature.json"  # beside tune/, in the study directory
DOMAIN = b"gansweep tune state v1\0"
OBJECT_STORE_PERIOD_S = 30.0  # listing a bucket every controller step would cost requests; locally it is free


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/gansweep`` (an absolute one, as the XDG spec says), else ``~/.config/gansweep``."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".config") / "gansweep"


def user_key(create: bool) -> bytes | None:
    """This user's signing key; made on first use when ``create``. None when there is none to use:
    absent, or readable by others (then anyone could forge a signature: not trusted, and said so)."""
    path = config_dir() / KEY_FILE
    if create and not path.exists():
        try:
            _create_key(path)
        except OSError as exc:
            log.warning("%s: cannot create the key that signs Tune's saved state (%s); 'gansweep resume' will "
                        "continue such studies from their results", path, exc.strerror or exc)
            return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with open(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            log.warning("%s: not a private file of this user (mode %o); Tune's saved state is not trusted "
                        "until it is (chmod 600)", path, st.st_mode & 0o777)
            return None
        key = f.read(256)
    return key if len(key) >= 32 else None


def _create_key(path: Path) -> None:
    """32 random bytes, mode 0600, appearing whole (written aside, then linked: a racing driver's wins)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with open(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _mac(key: bytes, name: str, data: bytes) -> str:
    return hmac.new(key, DOMAIN + name.encode() + b"\0" + data, hashlib.sha256).hexdigest()


def _listing(tune_dir: StoragePath, deep: bool) -> dict[str, tuple[int, int]]:
    """``name -> (size, mtime_ns)`` of what ``Tuner.restore`` may unpickle: every file directly in
    ``tune/`` and, with ``deep``, the pickles one level down (a trial's ``error.pkl``). Trial
    checkpoints hold gansweep's own ``trial.pt``, loaded with ``weights_only=True``."""
    out: dict[str, tuple[int, int]] = {}
    if isinstance(tune_dir, ObjectPath):
        sel = pafs.FileSelector(tune_dir.key, allow_not_found=True, recursive=deep)
        for info in tune_dir.fs.get_file_info(sel):
            name = info.path[len(tune_dir.key) + 1:]
            depth = name.count("/")
            if info.type == pafs.FileType.File and (depth == 0 or (depth == 1 and name.endswith(".pkl"))):
                out[name] = (info.size or 0, info.mtime_ns or 0)
        return out
    try:
        entries = list(os.scandir(tune_dir))
    except (FileNotFoundError, NotADirectoryError):
        return out
    for e in entries:
        if e.is_file(follow_symlinks=False):
            st = e.stat(follow_symlinks=False)
            out[e.name] = (st.st_size, st.st_mtime_ns)
        elif e.is_symlink():
            out[e.name] = (-1, -1)  # never signed: a link is refused by the gateway anyway
        elif deep and e.is_dir(follow_symlinks=False):
            for sub in os.scandir(e.path):
                if sub.name.endswith(".pkl") and not sub.is_dir(follow_symlinks=False):
                    st = sub.stat(follow_symlinks=False)
                    out[f"{e.name}/{sub.name}"] = (st.st_size, st.st_mtime_ns)
    return out


class Signer:
    """Keeps ``tune-signature.json`` current with Tune's experiment files; cheap when nothing changed.

    Holds no key in its pickled state (Tune pickles its callbacks into ``tuner.pkl``).
    """

    def __init__(self, study_path: StoragePath) -> None:
        self.study_path = study_path
        self._seen: dict[str, tuple[int, int]] = {}
        self._macs: dict[str, str] = {}
        self._last = 0.0

    def __getstate__(self) -> dict[str, Any]:
        return {"study_path": self.study_path, "_seen": {}, "_macs": {}, "_last": 0.0}

    def sign(self, deep: bool = False) -> None:
        """Sign what changed since the last call (``deep``: trial pickles too, as at the end of a run)."""
        now = time.monotonic()
        if not deep and isinstance(self.study_path, ObjectPath) and now - self._last < OBJECT_STORE_PERIOD_S:
            return
        self._last = now
        tune_dir = self.study_path / "tune"
        listing = _listing(tune_dir, deep)
        if listing == self._seen:
            return
        key = user_key(create=True)
        if key is None:
            return
        macs = {}
        for name, st in listing.items():
            if st[0] < 0:
                continue
            if self._seen.get(name) == st and name in self._macs:
                macs[name] = self._macs[name]
                continue
            try:
                macs[name] = _mac(key, name, _read(tune_dir, name))
            except (FileNotFoundError, UnsafePathError):
                continue  # replaced while listed (Tune's own atomic writes): signed at the next call
        if not deep:  # keep the trial pickles signed by the last deep call
            macs.update({n: m for n, m in self._macs.items() if "/" in n})
        body = json.dumps({"version": 1, "files": macs}, indent=1, sort_keys=True).encode()
        atomic_write(self.study_path / SIGNATURE_FILE, lambda f: f.write(body), fsync=False)
        self._seen, self._macs = listing, macs


class SignCallback(Callback):
    """Signs Tune's experiment files after each controller step (Tune saves them during a step) and
    at the end; a failed signing is logged, never fatal: resume then continues from the store."""

    def __init__(self, study_path: StoragePath) -> None:
        self.signer = Signer(study_path)

    def _sign(self, deep: bool) -> None:
        try:
            self.signer.sign(deep)
        except OSError as exc:
            log.warning("cannot sign Tune's saved state (%s); 'gansweep resume' will continue from the results",
                        exc.strerror or exc)

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self._sign(deep=False)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        self._sign(deep=True)


def _read(tune_dir: StoragePath, name: str) -> bytes:
    path = tune_dir
    for part in name.split("/"):
        path = path / part
    return read_file(path, limit=2**31)


def unverified(study_path: StoragePath) -> str | None:
    """Why Tune's saved experiment in ``study_path`` is not provably this user's, or None when every
    file ``Tuner.restore`` may unpickle carries this user's signature."""
    tune_dir = study_path / "tune"
    listing = _listing(tune_dir, deep=True)
    if not listing:
        return None
    key = user_key(create=False)
    if key is None:
        return f"no signing key of yours on this machine ({config_dir() / KEY_FILE})"
    try:
        manifest = json.loads(read_file(study_path / SIGNATURE_FILE))
        macs = manifest["files"]
        if not isinstance(macs, dict):
            raise TypeError("files")
    except FileNotFoundError:
        return f"{SIGNATURE_FILE} is missing (not written by your gansweep on this machine)"
    except (ValueError, KeyError, TypeError, UnsafePathError):
        return f"{SIGNATURE_FILE} is unreadable"
    for name, st in sorted(listing.items()):
        if st[0] < 0:
            return f"tune/{name} is a symbolic link"
        want = macs.get(name)
        try:
            ok = isinstance(want, str) and hmac.compare_digest(want, _mac(key, name, _read(tune_dir, name)))
        except (OSError, UnsafePathError):
            ok = False
        if not ok:
            return f"tune/{name} does not match its signature (written elsewhere, changed since, or a driver " \
                   "was killed before signing it)"
    return None
