"""Where a study lives: a local directory, or a prefix on an object store (``s3://``, ``gs://``).

Multi-node Ray Tune needs the study on storage that every node reaches, and an object store
outlives every cluster. A local study is a :class:`pathlib.Path`, handled exactly as before; a
study on an object store is an :class:`ObjectPath`, a path on a ``pyarrow.fs`` file system (the
kind Ray Tune takes as ``storage_filesystem``) with the few ``pathlib`` operations gansweep uses.
The functions here do the rest on either kind: atomic writes, listing, moving, deleting, and
handing a path to pyarrow. They are also the gateway a study directory is entered through: a
study directory may come from someone else, so nothing in it is followed out of it
(:func:`refuse_links`, :func:`read_file`, :func:`child`); see docs/RELIABILITY.md.

Credentials and endpoint come from the standard variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``, ``AWS_REGION`` /
``AWS_DEFAULT_REGION``; Google's default credentials for ``gs://``), read where the file system
is made, so every Ray node uses its own.
"""

from __future__ import annotations

import datetime
import io
import logging
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Union
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from gansweep.errors import GansweepError

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"
SCHEMES = {"s3": "s3", "gs": "gs", "gcs": "gs"}
OBJECT_STORE_DEADLINE_S = 30.0  # per request, retries included (GCS), so no wait is endless
CREDENTIAL_HINT = {
    "s3": "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) "
          "and AWS_DEFAULT_REGION",
    "gs": "check GOOGLE_APPLICATION_CREDENTIALS (or 'gcloud auth application-default login')",
}


@dataclass(frozen=True)
class ObjectPath:
    """A file or directory on an object store: ``key`` is ``bucket/prefix/...`` on ``fs``."""

    fs: pafs.FileSystem
    key: str
    scheme: str

    def __str__(self) -> str:
        return f"{self.scheme}://{self.key}"

    def __hash__(self) -> int:
        return hash((self.scheme, self.key))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectPath) and (self.scheme, self.key) == (other.scheme, other.key)

    def __truediv__(self, name: str) -> ObjectPath:
        return ObjectPath(self.fs, f"{self.key}/{str(name).strip('/')}", self.scheme)

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name

    @property
    def stem(self) -> str:
        return PurePosixPath(self.key).stem

    @property
    def parent(self) -> ObjectPath:
        return ObjectPath(self.fs, str(PurePosixPath(self.key).parent), self.scheme)

    @property
    def bucket(self) -> str:
        return self.key.split("/", 1)[0]

    def with_name(self, name: str) -> ObjectPath:
        return self.parent / name

    def resolve(self) -> ObjectPath:
        return self

    def _type(self) -> pafs.FileType:
        return self.fs.get_file_info(self.key).type

    def exists(self) -> bool:
        return self._type() != pafs.FileType.NotFound

    def is_file(self) -> bool:
        return self._type() == pafs.FileType.File

    def is_dir(self) -> bool:
        return self._type() == pafs.FileType.Directory

    def mkdir(self, parents: bool = True, exist_ok: bool = True) -> None:
        self.fs.create_dir(self.key, recursive=True)

    def iterdir(self, only: pafs.FileType | None = None) -> Iterator[ObjectPath]:
        """What is directly inside (only files with ``only=FileType.File``); nothing if it does not exist."""
        for info in self.fs.get_file_info(pafs.FileSelector(self.key, allow_not_found=True)):
            if only is None or info.type == only:
                yield ObjectPath(self.fs, info.path, self.scheme)

    def read_bytes(self) -> bytes:
        with self.fs.open_input_stream(self.key) as f:
            return f.read()

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> None:
        """One object, visible only once complete (an object store's PUT is atomic)."""
        with self.fs.open_output_stream(self.key) as f:
            f.write(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(text.encode(encoding))

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.fs.delete_file(self.key)
        except FileNotFoundError:
            if not missing_ok:
                raise


StoragePath = Union[Path, ObjectPath]


def location(where: str | os.PathLike[str] | ObjectPath) -> StoragePath:
    """A ``Path`` for a local directory; an :class:`ObjectPath` (bucket checked) for ``s3://``/``gs://``.

    Any other ``scheme://`` is refused: ``Path("s3://b/x")`` would be the local directory ``s3:/b/x``.
    """
    if isinstance(where, (Path, ObjectPath)):
        return where
    text = os.fspath(where)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return Path(text)
    if scheme not in SCHEMES or not rest.strip("/"):
        raise GansweepError(f"{text}: unsupported location; give a directory, s3://bucket/prefix or "
                            "gs://bucket/prefix")
    scheme = SCHEMES[scheme]
    key = rest.strip("/")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise GansweepError(f"{text}: empty, '.' or '..' parts are not allowed in an object store path")
    try:
        path = ObjectPath(_filesystem(scheme, key.split("/", 1)[0]), key, scheme)
        info = path.fs.get_file_info(path.bucket)
    except OSError as exc:
        raise GansweepError(f"{text}: cannot reach the bucket ({_first_line(exc)}); {CREDENTIAL_HINT[scheme]}") \
            from None
    if info.type == pafs.FileType.NotFound:
        raise GansweepError(f"{text}: bucket '{path.bucket}' does not exist; create it, or give another "
                            "output (the study's 'output' or --out)")
    return path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:159] + "…"  # cloud SDK errors run to kilobytes


def s3_endpoint() -> tuple[str | None, str | None]:
    """``(endpoint URL or None, region or None)`` from the standard AWS variables; an endpoint
    without a scheme (``minio:9000``) is https, for pyarrow and boto3 alike."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    if endpoint and "://" not in endpoint:
        endpoint = f"https://{endpoint}"
    return endpoint, region


def _filesystem(scheme: str, bucket: str) -> pafs.FileSystem:
    if scheme == "gs":  # a bounded retry: unreachable GCS is an error in seconds, not a hang
        return pafs.GcsFileSystem(retry_time_limit=datetime.timedelta(seconds=OBJECT_STORE_DEADLINE_S))
    endpoint, region = s3_endpoint()
    options: dict[str, Any] = {}
    if endpoint:
        url = urlsplit(endpoint)
        options.update(endpoint_override=url.netloc + url.path.rstrip("/"), scheme=url.scheme)
    elif not region:
        region = pafs.resolve_s3_region(bucket)  # AWS itself: the bucket's region, or every call fails
    return pafs.S3FileSystem(region=region or "us-east-1", connect_timeout=10, request_timeout=OBJECT_STORE_DEADLINE_S,
                             **options)


# -- operations on either kind -------------------------------------------------------------------

def arrow_source(path: StoragePath) -> tuple[str, pafs.FileSystem | None]:
    """``(path, filesystem)`` as pyarrow and Ray Tune take them; ``filesystem`` is None locally."""
    if isinstance(path, ObjectPath):
        return path.key, path.fs
    return str(path), None


def files_in(directory: StoragePath) -> list[StoragePath]:
    """Files directly inside ``directory`` (hidden ones too); [] when it does not exist."""
    if isinstance(directory, ObjectPath):
        return list(directory.iterdir(only=pafs.FileType.File))
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [Path(e.path) for e in entries if e.is_file()]


def atomic_write(path: StoragePath, write: Callable[[IO[bytes]], None], fsync: bool = True) -> None:
    """Write ``path`` all or nothing: ``write(f)`` fills a binary file.

    Locally through a hidden temporary file, flushed to disk (``fsync``) and renamed into place;
    a failure (an ``OSError``, an error of ``write``, an interrupt) leaves no temporary behind. On an object store the bytes are built in memory
    and sent as one object, which appears only once complete: no temporary is needed.
    """
    if isinstance(path, ObjectPath):
        buffer = io.BytesIO()
        write(buffer)
        path.write_bytes(buffer.getvalue())
        return
    tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
    try:  # a new file (O_EXCL) and never through a link: a planted link is not written through
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with open(fd, "wb") as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def move(src: StoragePath, dst: StoragePath) -> None:
    if isinstance(src, ObjectPath) and isinstance(dst, ObjectPath):
        src.fs.move(src.key, dst.key)
    else:
        shutil.move(str(src), str(dst))


def rmtree(path: StoragePath) -> None:
    """Delete a directory and everything in it."""
    if isinstance(path, ObjectPath):
        path.fs.delete_dir(path.key)
    else:
        shutil.rmtree(path)


def scratch_dir(path: StoragePath, purpose: str) -> Path:
    """A local directory for what must be on this node's disk: the study's own when it is local."""
    if isinstance(path, ObjectPath):
        import tempfile

        return Path(tempfile.gettempdir(), "gansweep", *path.key.split("/"), purpose)
    return path / purpose


# -- the gateway: nothing in a study directory leads out of it -------------------------------------

MAX_READ = 64 * 2**20  # gansweep's own small files (gansweep.json, study.yaml): a larger one is not theirs


class UnsafePathError(GansweepError):
    """A study directory holds what could lead a write, a delete or a read out of it."""


def refuse_links(root: StoragePath) -> None:
    """Refuse a study directory that holds a symbolic link or a special file anywhere inside.

    A copied, synced or shared study directory may hold ``results -> /home/you`` or
    ``.lock -> ~/.bashrc``; gansweep, pyarrow and Ray Tune would write, overwrite and delete
    through them. Every command that opens a study checks it first (one ``scandir`` walk, no
    ``stat`` per file), so nothing it then hands to pyarrow or Tune leads outside. FIFOs and
    devices are refused too: reading one blocks or never ends. Object stores have no links.
    The directory itself may be a link: the user named it.
    """
    if isinstance(root, ObjectPath):
        return
    stack = [str(root)]
    while stack:
        top = stack.pop()
        try:
            entries = list(os.scandir(top))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise UnsafePathError(f"{top}: cannot read ({exc.strerror or exc}); fix its permissions") from None
        for e in entries:
            if e.is_symlink():
                raise UnsafePathError(
                    f"{e.path}: a symbolic link inside the study directory (to {_target(e.path)}); gansweep never "
                    "follows links out of a study: replace it with the real file or directory, or remove it")
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            elif not e.is_file(follow_symlinks=False):
                raise UnsafePathError(f"{e.path}: not a regular file or directory (a FIFO, socket or device); "
                                      "remove it from the study directory")


def _target(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def child(parent: StoragePath, name: str) -> StoragePath:
    """``parent / name`` for a ``name`` that may come from stored data: one plain name or refused.

    Callers that take names from rows (trial ids) check them against the plan's grammar first
    (:func:`gansweep.study.plan.is_trial_id`); this is the last line: no separator, no ``..``.
    """
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UnsafePathError(f"{parent}: {name[:80]!r} is not a plain file name; refusing to use it as a path")
    return parent / name


def stored_json(raw: bytes | str) -> Any:
    """JSON read from a study directory, which may be someone else's: nesting past Python's
    recursion limit is a ``ValueError`` like any other malformed JSON, not a ``RecursionError``."""
    import json

    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def read_file(path: StoragePath, limit: int = MAX_READ) -> bytes:
    """The bytes of a small regular file, never through a link (``FileNotFoundError`` if absent).

    Locally opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat``: a link, a FIFO
    (whose read would block forever) or a device (``/dev/zero``, whose read never ends) is refused.
    """
    if isinstance(path, ObjectPath):
        data = path.read_bytes()
    else:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            if os.path.islink(path):
                raise UnsafePathError(f"{path}: a symbolic link (to {_target(str(path))}); gansweep never follows "
                                      "links out of a study: replace it with the real file") from None
            raise
        with open(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnsafePathError(f"{path}: not a regular file; remove it from the study directory")
            data = f.read(limit + 1)
    if len(data) > limit:
        raise UnsafePathError(f"{path}: larger than {limit // 2**20} MiB; not a file gansweep wrote")
    return data
