"""What keeps a second driver off a study: ``flock`` on a local study, a lease on an object store.

Both locks live here so they are read together: :func:`study_lock` picks one. A ``flock`` is
released by the kernel when its holder dies, and cannot be lost; the lease object on ``s3://``
or ``gs://`` is renewed while held and taken over once its holder stops renewing it.
The ``.lock`` of a local study may come from someone else: it is opened without following a
link and written only when it is a plain file of its own (one link, regular), so a planted
``.lock -> ~/.bashrc`` cannot get a file truncated to a PID.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import socket
import stat
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from gansweep.errors import GansweepError
from gansweep.storage import CREDENTIAL_HINT, ObjectPath, StoragePath, UnsafePathError, _first_line, s3_endpoint

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
STUDY_FILE = "study.yaml"  # a study directory's copy of its study file; here, the lowest module that needs it


def study_lock(path: StoragePath, on_lost: Callable[[], None] | None = None) -> StudyLock | LeaseLock:
    """``flock`` locally, a lease on an object store (``on_lost`` is called if another driver
    takes the lease over: a ``flock`` cannot be lost)."""
    return LeaseLock(path / LOCK_FILE, on_lost=on_lost) if isinstance(path, ObjectPath) else StudyLock(path)


class StudyLock:
    """An exclusive, non-blocking ``flock`` on ``<study>/.lock``: two drivers never write one study."""

    def __init__(self, study_dir: Path) -> None:
        self.path = study_dir / LOCK_FILE
        self._f: IO[str] | None = None

    def __enter__(self) -> StudyLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            if os.path.islink(self.path):
                raise UnsafePathError(f"{self.path}: a symbolic link (to {os.readlink(self.path)}); gansweep never "
                                      "follows links out of a study: remove it (a driver recreates it)") from None
            if (self.path.parent / STUDY_FILE).is_file():  # resume of a study on a read-only disk
                raise GansweepError(f"{self.path}: cannot write the study's lock ({exc.strerror or exc}); a study "
                                    "runs where it can be written: make it writable, or copy it to a writable "
                                    "place and resume the copy") from None
            raise GansweepError(f"{self.path.parent}: cannot create the study directory ({exc.strerror or exc}); "
                                "choose a writable output directory (the study's 'output' or --out)") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            os.close(fd)
            raise UnsafePathError(f"{self.path}: not a plain file of this study (a special file, or a hard link "
                                  "shared with another file); remove it (a driver recreates it)")
        f = open(fd, "r+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            owner = f.read(64).strip() or "?"
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
        return json.dumps({"owner": self.owner, "renewed": time.time(), "expire_s": self.expire,
                           "renew_s": self.renew}).encode()

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
        if not why.startswith("its process") and not self._unchanged(lease, tag):
            raise _Refused("held")  # the holder renews it: only the clocks disagree
        log.warning("%s: taking over the lease of %s (%s)", self.path.parent, lease.get("owner", "?"), why)
        return self._store.put(self._body(), tag)

    def _stale(self, lease: dict[str, Any]) -> str | None:
        """Why ``lease`` may be taken over, or None while its owner may still be running. A time of
        renewal far from this machine's clock (either way: clocks differ between machines, and
        jump) only makes it a candidate, which :meth:`_unchanged` confirms."""
        age = time.time() - float(lease.get("renewed", 0) or 0)
        if age > self.expire:
            return f"not renewed for {age:.0f} s"
        if age < -self.expire:
            return f"renewed {-age:.0f} s in the future by this machine's clock"
        if _ended_here(str(lease.get("owner", ""))):
            return "its process on this host has ended"
        return None

    def _unchanged(self, lease: dict[str, Any], tag: str) -> bool:
        """Whether the lease stays as read for one and a half of its holder's renewal periods, timed
        by this machine's monotonic clock: a holder that still runs rewrites it meanwhile, whatever
        the wall clocks say (a holder's clock set back, or this machine's set forward, made a live
        lease look expired, and a second driver took it over)."""
        try:
            period = float(lease.get("renew_s") or self.renew)
        except (TypeError, ValueError):
            period = self.renew
        window = 1.5 * min(max(period, 0.1), self.expire)
        log.warning("%s: the lease of %s looks stale; checking for %.0f s that it is not renewed", self.path.parent,
                    lease.get("owner", "?"), window)
        end = time.monotonic() + window
        while time.monotonic() < end:
            time.sleep(min(1.0, window / 5))
            now = self._store.read()
            if now is None or now[1] != tag:
                return False
        return True

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
