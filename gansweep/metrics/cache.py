"""Content-addressed, atomically written cache files for metric artefacts.

A key is the SHA-256 of a canonical JSON of everything that changes the value (data set, split,
sample count, a hash of the data, feature extractor and its weights' hash, format version), so
two trials that need the same reference statistics share one file and a changed input never
reads a stale one. Writes go to a temporary file in the same directory, then ``os.replace``
(:func:`gansweep.storage.atomic_write`):
concurrent trials race harmlessly and a killed writer leaves no half file.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gansweep import env
from gansweep.storage import atomic_write

log = logging.getLogger(__name__)

CACHE_ENV = "GANSWEEP_CACHE"
"""Environment variable overriding the default cache directory (``~/.cache/gansweep``)."""


def default_cache_dir() -> Path:
    return Path(env.get(CACHE_ENV) or Path.home() / ".cache" / "gansweep")


def resolve_cache_dir(cache_dir: str | Path | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else default_cache_dir()


def cache_key(**parts: Any) -> str:
    """A hex digest of ``parts`` (JSON-serialisable values), independent of argument order."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def tensor_digest(t: torch.Tensor) -> str:
    """SHA-256 of a tensor's dtype, shape and bytes (on the host)."""
    h = hashlib.sha256(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:32]


def file_digest(path: str | Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` all or nothing (:func:`gansweep.storage.atomic_write`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: torch.save(obj, f))


def load_or_compute(
    path: str | Path, compute: Callable[[], Any], map_location: str | torch.device = "cpu"
) -> Any:
    """The object cached at ``path`` (loaded with ``weights_only=True``), or ``compute()`` saved there.

    ``compute`` must return tensors, containers of them and plain Python values.
    """
    path = Path(path)
    if path.exists():
        try:
            return torch.load(path, map_location=map_location, weights_only=True)
        except Exception as exc:  # a corrupt file (disk full, foreign writer): recompute it
            log.warning("cache file %s unreadable (%s); recomputing", path, exc)
    obj = compute()
    atomic_save(obj, path)
    log.info("cached %s", path)
    return obj
