"""Whether Tune's saved experiment may be unpickled: only when this user's gansweep wrote it here.

``Tuner.restore`` unpickles ``tune/tuner.pkl``, the searcher's state and the experiment state
(whose JSON carries cloudpickled values): loading them runs whatever code they name. A study
directory is copied, synced and unpacked, so its files prove nothing about who wrote them.
Ray Tune therefore writes the study through :class:`SigningHandler`, which signs every file of
Tune's experiment with an HMAC whose key never leaves this user's config directory
(``$XDG_CONFIG_HOME/gansweep/tune.key``, else ``~/.config/gansweep/tune.key``, mode 0600) before
the file lands. ``resume`` restores Tune's experiment only when every such file matches a
signature; otherwise it continues from gansweep's own store (nothing is lost but the progress of
unfinished trials), unless the user says ``--trust``.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import stat
import threading
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from gansweep.storage import (TMP_PREFIX, ObjectPath, StoragePath, UnsafePathError, arrow_source, atomic_write,
                              read_file, stored_json)
from gansweep.store.studydir import TUNE_DIR

log = logging.getLogger(__name__)

KEY_FILE = "tune.key"
SIGNATURE_FILE = "tune-signature.json"  # beside tune/, in the study directory
DOMAIN = b"gansweep tune state v1\0"


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
            if name.split("/")[-1].startswith(TMP_PREFIX):
                continue
            if info.type == pafs.FileType.File and (depth == 0 or (depth == 1 and name.endswith(".pkl"))):
                out[name] = (info.size or 0, info.mtime_ns or 0)
        return out
    try:
        entries = list(os.scandir(tune_dir))
    except (FileNotFoundError, NotADirectoryError):
        return out
    for e in entries:
        if e.name.startswith(TMP_PREFIX):
            continue  # a signed file on its way in (SigningHandler): Tune reads no such name
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


class SigningHandler(pafs.FileSystemHandler):
    """The file system Ray Tune writes the study through: it signs each file of Tune's experiment
    *before* the file lands, so no kill can leave a file without its signature.

    Every other operation is passed to the study's own file system unchanged (trial checkpoints
    stream natively). A signed file is buffered in memory (Tune's experiment files are small);
    on close its HMAC is added to ``tune-signature.json`` beside the previous one, and only then is
    the file written (atomically). Killed between the two, the file on disk still matches the
    previous signature. Tune pickles this handler to its workers: the key is never in its state.
    """

    def __init__(self, fs: pafs.FileSystem, study_path: StoragePath) -> None:
        self.fs, self.study_path = fs, study_path
        self.tune_prefix = arrow_source(study_path / TUNE_DIR)[0].rstrip("/") + "/"
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"fs": self.fs, "study_path": self.study_path, "tune_prefix": self.tune_prefix}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SigningHandler) and (self.fs, self.tune_prefix) == (other.fs, other.tune_prefix)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def signed_name(self, path: str) -> str | None:
        """``path``'s name under ``tune/`` when it is one the driver signs (see :func:`_listing`)."""
        if not path.startswith(self.tune_prefix):
            return None
        name = path[len(self.tune_prefix):]
        depth = name.count("/")
        if not name or name.split("/")[-1].startswith(TMP_PREFIX):
            return None
        return name if depth == 0 or (depth == 1 and name.endswith(".pkl")) else None

    def add_signature(self, name: str, data: bytes) -> None:
        key = user_key(create=True)
        if key is None:
            return
        mac = _mac(key, name, data)
        with self._lock:
            macs = _manifest(self.study_path)
            previous = [m for m in _as_list(macs.get(name)) if m != mac][:1]
            macs[name] = [mac, *previous]
            body = json.dumps({"version": 2, "files": macs}, indent=1, sort_keys=True).encode()
            atomic_write(self.study_path / SIGNATURE_FILE, lambda f: f.write(body), fsync=False)

    def sign_existing(self) -> None:
        """Sign what Tune wrote past this file system (a trial's ``error.pkl``), at the end of a run."""
        tune_dir = self.study_path / TUNE_DIR
        signed = _manifest(self.study_path)
        for name in _listing(tune_dir, deep=True):
            if name not in signed:
                try:
                    self.add_signature(name, _read(tune_dir, name))
                except (FileNotFoundError, UnsafePathError):
                    continue

    # -- pyarrow's FileSystemHandler: everything else goes to the study's file system as it is --------
    def get_type_name(self) -> str:
        return f"gansweep-signing+{self.fs.type_name}"

    def normalize_path(self, path: str) -> str:
        return self.fs.normalize_path(path)

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        return self.fs.get_file_info(selector)

    def create_dir(self, path: str, recursive: bool) -> None:
        self.fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path: str) -> None:
        self.fs.delete_dir(path)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self) -> None:
        raise OSError("gansweep: refusing to delete the contents of the file system's root")

    def delete_file(self, path: str) -> None:
        self.fs.delete_file(path)

    def move(self, src: str, dest: str) -> None:
        name = self.signed_name(dest)
        if name is not None:
            with self.fs.open_input_stream(src) as f:
                self.add_signature(name, f.read())
        self.fs.move(src, dest)

    def copy_file(self, src: str, dest: str) -> None:
        name = self.signed_name(dest)
        if name is not None:
            with self.fs.open_input_stream(src) as f:
                self.add_signature(name, f.read())
        self.fs.copy_file(src, dest)

    def open_input_stream(self, path: str) -> Any:
        return self.fs.open_input_stream(path)

    def open_input_file(self, path: str) -> Any:
        return self.fs.open_input_file(path)

    def open_output_stream(self, path: str, metadata: Any = None) -> Any:
        name = self.signed_name(path)
        if name is None:
            return self.fs.open_output_stream(path, metadata=metadata)
        return pa.PythonFile(_SignedWrite(self, path, name), mode="w")

    def open_append_stream(self, path: str, metadata: Any = None) -> Any:
        if self.signed_name(path) is not None:
            raise OSError(f"{path}: appending to a signed file is not supported")
        return self.fs.open_append_stream(path, metadata=metadata)


class _SignedWrite(io.RawIOBase):
    """A file of Tune's experiment being written: signed, then written whole, on close."""

    def __init__(self, handler: SigningHandler, path: str, name: str) -> None:
        super().__init__()
        self.handler, self.path, self.name = handler, path, name
        self.buffer = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self.buffer.write(data)

    def close(self) -> None:
        if self.closed:
            return
        data = self.buffer.getvalue()
        try:
            self.handler.add_signature(self.name, data)  # first: the file never exists unsigned
        except OSError as exc:
            log.warning("cannot sign %s (%s); 'gansweep resume' will continue from the results", self.path,
                        exc.strerror or exc)
        fs = self.handler.fs
        parent, _, base = self.path.rpartition("/")
        tmp = f"{parent}/{TMP_PREFIX}{uuid.uuid4().hex}-{base}"
        with fs.open_output_stream(tmp) as f:
            f.write(data)
        fs.move(tmp, self.path)
        super().close()


def signing_filesystem(study_path: StoragePath) -> pafs.FileSystem:
    """The file system to give Ray Tune for ``study_path``: its own, with Tune's state signed."""
    base = arrow_source(study_path)[1] or pafs.LocalFileSystem()
    return pafs.PyFileSystem(SigningHandler(base, study_path))


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _manifest(study_path: StoragePath) -> dict[str, Any]:
    try:
        macs = stored_json(read_file(study_path / SIGNATURE_FILE)).get("files")
    except (FileNotFoundError, ValueError, AttributeError, UnsafePathError):
        return {}
    return macs if isinstance(macs, dict) else {}


def _read(tune_dir: StoragePath, name: str) -> bytes:
    path = tune_dir
    for part in name.split("/"):
        path = path / part
    return read_file(path, limit=2**31)


def unverified(study_path: StoragePath) -> str | None:
    """Why Tune's saved experiment in ``study_path`` is not provably this user's, or None when every
    file ``Tuner.restore`` may unpickle carries this user's signature."""
    tune_dir = study_path / TUNE_DIR
    listing = _listing(tune_dir, deep=True)
    if not listing:
        return None
    key = user_key(create=False)
    if key is None:
        return f"no signing key of yours on this machine ({config_dir() / KEY_FILE})"
    try:
        manifest = stored_json(read_file(study_path / SIGNATURE_FILE))
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
        try:
            have = _mac(key, name, _read(tune_dir, name))
        except (OSError, UnsafePathError):
            have = ""
        ok = bool(have) and any(hmac.compare_digest(want, have) for want in _as_list(macs.get(name)))
        if not ok:
            return f"tune/{name} does not match its signature (written elsewhere, changed since, or a driver " \
                   "was killed before signing it)"
    return None
