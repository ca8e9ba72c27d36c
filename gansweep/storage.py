"""Where a study lives: a local directory, or a prefix on an object store (``s3://``, ``gs://``).

Multi-node Ray Tune needs the study on storage that every node reaches, and an object store
outlives every cluster. A local study is a :class:`pathlib.Path`, handled exactly as before; a
study on an object store is an :class:`ObjectPath`, a path on a ``pyarrow.fs`` file system (the
kind Ray Tune takes as ``storage_filesystem``) with the few ``pathlib`` operations gansweep uses.
The functions here do the rest on either kind: atomic writes, listing, moving, deleting, and
handing a path to pyarrow. :class:`LeaseLock` replaces ``flock``, which object stores lack.

Credentials and endpoint come from the standard variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``, ``AWS_REGION`` /
``AWS_DEFAULT_REGION``; Google's default credentials for ``gs://``), read where the file system
is made, so every Ray node uses its own.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import socket
import threading
import time
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
    return text.splitlines()[0] if text else type(exc).__name__


def s3_endpoint() -> tuple[str | None, str | None]:
    """``(endpoint URL or None, region or None)`` from the standard AWS variables; an endpoint
    without a scheme (``minio:9000``) is https, for pyarrow and boto3 alike."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    if endpoint and "://" not in endpoint:
        endpoint = f"https://{endpoint}"
    return endpoint, region


def _filesystem(scheme: str, bucket: str) -> pafs.FileSystem:
    if scheme == "gs":
        return pafs.GcsFileSystem()
    endpoint, region = s3_endpoint()
    options: dict[str, Any] = {}
    if endpoint:
        url = urlsplit(endpoint)
        options.update(endpoint_override=url.netloc + url.path.rstrip("/"), scheme=url.scheme)
    elif not region:
        region = pafs.resolve_s3_region(bucket)  # AWS itself: the bucket's region, or every call fails
    return pafs.S3FileSystem(region=region or "us-east-1", **options)


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
    an ``OSError`` leaves no temporary behind. On an object store the bytes are built in memory
    and sent as one object, which appears only once complete: no temporary is needed.
    """
    if isinstance(path, ObjectPath):
        buffer = io.BytesIO()
        write(buffer)
        path.write_bytes(buffer.getvalue())
        return
    tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
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


# -- the lock on an object store -----------------------------------------------------------------

class _Refused(Exception):
    """A conditional write whose condition did not hold."""


class _Unsupported(Exception):
    """The store does not implement conditional writes."""


class _ConditionalS3:
    """The lease object through boto3: ``If-None-Match: *`` to create, ``If-Match: <etag>`` to renew."""

    def __init__(self, path: ObjectPath) -> None:
        import boto3

        endpoint, region = s3_endpoint()
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name=region)
        self.bucket, _, self.key = path.key.partition("/")

    def read(self) -> tuple[dict[str, Any], str] | None:
        try:
            r = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except self.client.exceptions.NoSuchKey:
            return None
        return _lease(r["Body"].read()), r["ETag"]

    def put(self, body: bytes, tag: str | None) -> str:
        """Create (``tag`` None) or replace the version ``tag``; :class:`_Refused` if that fails."""
        from botocore.exceptions import ClientError

        cond = {"IfNoneMatch": "*"} if tag is None else {"IfMatch": tag}
        try:
            return self.client.put_object(Bucket=self.bucket, Key=self.key, Body=body, **cond)["ETag"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409", "404"):
                raise _Refused(code) from None
            if code in ("NotImplemented", "501"):
                raise _Unsupported(code) from None
            raise

    def delete(self) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key)


class _PlainObject:
    """The lease object with plain writes (``gs://``, no boto3, a store without conditional writes).

    Check, write, read back: two drivers acting within the same moment can both win (best effort).
    """

    def __init__(self, path: ObjectPath) -> None:
        self.path = path

    def read(self) -> tuple[dict[str, Any], str] | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return _lease(data), hashlib.sha256(data).hexdigest()

    def put(self, body: bytes, tag: str | None) -> str:
        current = self.read()
        if (current[1] if current else None) != tag:
            raise _Refused("changed")
        self.path.write_bytes(body)
        time.sleep(0.2)  # let a racing writer's object land before reading back
        if self.path.read_bytes() != body:
            raise _Refused("overwritten")
        return hashlib.sha256(body).hexdigest()

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


def _lease(data: bytes) -> dict[str, Any]:
    try:
        lease = json.loads(data or b"{}")
    except ValueError:
        return {}
    return lease if isinstance(lease, dict) else {}


def _lease_backend(path: ObjectPath) -> _ConditionalS3 | _PlainObject:
    if path.scheme == "s3":
        try:
            return _ConditionalS3(path)
        except ImportError:
            log.warning("boto3 is not installed: the study lease on %s is best effort", path)
        except Exception as exc:  # boto3 refuses its configuration: pyarrow's plain writes still work
            log.warning("boto3 cannot reach %s (%s): the study lease is best effort", path, _first_line(exc))
    return _PlainObject(path)


class LeaseLock:
    """An exclusive lock on an object store: a lease object naming its owner, renewed while held.

    Taking it creates ``path`` only if it does not exist (``If-None-Match: *``): of two drivers
    starting together exactly one wins. The holder rewrites it every ``renew`` s; a lease not
    renewed for ``expire`` s, or held by a process of this host that has ended (a SIGKILLed
    driver), is taken over with ``If-Match`` on the version read, so two drivers cannot both take
    it over. Where conditional writes are missing (``gs://``, no boto3, a store that rejects them)
    the same steps run with plain writes and a read back: best effort.
    """

    def __init__(self, path: ObjectPath, renew: float = 30.0, expire: float = 120.0,
                 on_lost: Callable[[], None] | None = None) -> None:
        self.path = path
        self.on_lost = on_lost  # called (from the heartbeat thread) once the lease went to another driver
        self.renew, self.expire = renew, expire
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}:{_pid_namespace()}"
        self.lost = threading.Event()
        self._store = _lease_backend(path)
        self._tag: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _body(self) -> bytes:
        return json.dumps({"owner": self.owner, "renewed": time.time(), "expire_s": self.expire}).encode()

    def __enter__(self) -> LeaseLock:
        try:
            self._tag = self._acquire()
        except _Refused:
            raise self._refusal(self._store.read()) from None
        except GansweepError:
            raise
        except Exception as exc:  # botocore and pyarrow errors: one line, not a traceback
            raise GansweepError(f"{self.path.parent}: cannot take the study lease {self.path.name} "
                                f"({_first_line(exc)}); {CREDENTIAL_HINT[self.path.scheme]}") from None
        self._thread = threading.Thread(target=self._heartbeat, name="gansweep-lease", daemon=True)
        self._thread.start()
        return self

    def _acquire(self) -> str:
        try:
            return self._take()
        except _Unsupported:
            log.warning("%s: the store refuses conditional writes; the study lease is best effort", self.path)
            self._store = _PlainObject(self.path)
            return self._take()

    def _take(self) -> str:
        # Read first: a server that ignores If-None-Match then loses only a race, not a held lease.
        current = self._store.read()
        if current is None:
            try:
                return self._store.put(self._body(), None)
            except _Refused:
                current = self._store.read()
                if current is None:
                    raise
        lease, tag = current
        why = self._stale(lease)
        if why is None:
            raise _Refused("held")
        log.warning("%s: taking over the lease of %s (%s)", self.path.parent, lease.get("owner", "?"), why)
        return self._store.put(self._body(), tag)

    def _stale(self, lease: dict[str, Any]) -> str | None:
        """Why ``lease`` may be taken over, or None while its owner may still be running."""
        age = time.time() - float(lease.get("renewed", 0) or 0)
        if age > self.expire:
            return f"not renewed for {age:.0f} s"
        if _ended_here(str(lease.get("owner", ""))):
            return "its process on this host has ended"
        return None

    def _refusal(self, current: tuple[dict[str, Any], str] | None) -> GansweepError:
        lease = current[0] if current else {}
        age = time.time() - float(lease.get("renewed", 0) or 0)
        return GansweepError(f"{self.path.parent}: another gansweep driver ({lease.get('owner', '?')}, lease "
                             f"renewed {max(age, 0):.0f} s ago) is running this study; wait for it or stop it "
                             f"first (a lease not renewed for {self.expire:.0f} s is taken over)")

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.renew):
            try:
                self._tag = self._store.put(self._body(), self._tag)
            except _Refused:
                log.error("%s: lost the study lease to another driver; stop this one (results it writes "
                          "now may race with the other's)", self.path.parent)
                self.lost.set()
                if self.on_lost is not None:
                    self.on_lost()
                return
            except Exception as exc:  # a transient store error: the next renewal tries again
                log.warning("%s: could not renew the study lease (%s)", self.path.parent, _first_line(exc))

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        try:
            current = self._store.read()
            if current is not None and current[0].get("owner") == self.owner:
                self._store.delete()
        except Exception as e:  # the lease then expires by itself
            log.warning("%s: could not release the study lease (%s)", self.path.parent, _first_line(e))


def _pid_namespace() -> str:
    """Which process IDs a pid means: containers with the host's network share its hostname but
    not its process IDs (Ray's launcher runs them with --net=host)."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "?"


def _ended_here(owner: str) -> bool:
    """Whether ``host:pid:token:pidns`` names a process of this host and PID namespace that no
    longer exists (a lease without the namespace, or from another one, is left to expire)."""
    host, _, rest = owner.partition(":")
    pid, _, rest = rest.partition(":")
    namespace = rest.partition(":")[2]
    if host != socket.gethostname() or not pid.isdigit() or namespace in ("", "?") or namespace != _pid_namespace():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
