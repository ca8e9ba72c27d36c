"""Converting a real data set once into the prepared format that trials read fast.

Decoding 30,000 CelebA-HQ JPEGs takes minutes, and every trial would pay it. ``prepare`` decodes
any source that :mod:`gansweep.data.real` reads (CIFAR10, CelebA-HQ, LSUN, ``folder:``,
``npz:``) once, at one resolution, into a directory:

```
<out>/
  gansweep-data.json   format, version, name, source, resolution, channels, counts, split rule
  train.npy            uint8 (N, C, H, W), opened as a memory map (nothing copied until used)
  test.npy             uint8 (M, C, H, W), the held-out split metrics compare against
  train_labels.npy     int64 (N,), only for labelled sets (CIFAR10, npz with y)
  test_labels.npy      int64 (M,)
```

The arrays are written chunk by chunk into memory maps (a data set larger than memory can be
prepared), into a temporary sibling directory renamed into place at the end: a reader never sees
half a data set, and an interrupted prepare leaves nothing that looks prepared. The pixels are
exactly those :func:`gansweep.data.real.load_real` gives from the raw source.

It computes nothing else. Reference statistics (the Inception mean and covariance of the test
split for FID, features for KID/precision/recall) belong to :mod:`gansweep.metrics`, which
computes them on first use and caches them by content in the study's ``cache/``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from gansweep.data.real import (
    CHUNK,
    KNOWN,
    PREPARED_FORMAT,
    PREPARED_META,
    PREPARED_VERSION,
    Source,
    data_root,
    is_prepared,
    prepared_dir,
    source_for,
)
from gansweep.errors import GansweepError

log = logging.getLogger(__name__)
RESIZE_RULE = "RGB (grey stays grey); shorter side to the resolution, PIL bicubic (antialiased); centre crop"


def default_out(name: str, root: str | os.PathLike[str] | None, resolution: int) -> Path:
    """``<root>/prepared/<name>-<resolution>``, where loading a named data set looks first."""
    r = data_root(root)
    if r is None:
        raise GansweepError(f"data set {name!r}: say where to write the prepared copy (--out DIR), or set "
                            "the data root (--root DIR or GANSWEEP_DATA)")
    if name not in KNOWN:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        return r / "prepared" / f"{safe}-{resolution}"
    return prepared_dir(r, name, resolution)


def prepare(name: str, root: str | os.PathLike[str] | None = None, out: str | os.PathLike[str] | None = None,
            resolution: int | None = None, *, download: bool | None = None, overwrite: bool = False) -> Path:
    """Write ``name`` (from ``root``) in the prepared format at ``out``; returns the directory.

    ``out`` defaults to ``<root>/prepared/<name>-<resolution>``, where loading ``name`` looks first,
    so after ``prepare("celeba_hq_128", "/data")`` every trial of a study with data root ``/data``
    reads the memory map. ``resolution`` defaults to the data set's own. An existing prepared copy
    is kept unless ``overwrite``.
    """
    src = source_for(name, root, resolution, download, use_prepared=False)
    dest = Path(out).expanduser() if out is not None else default_out(name, root, src.resolution)
    if dest.exists():
        if not (is_prepared(dest) or (dest.is_dir() and not any(dest.iterdir()))):
            raise GansweepError(f"{dest}: exists and is not a prepared data set; choose an empty or new "
                                "directory for --out")
        if is_prepared(dest) and not overwrite:
            raise GansweepError(f"{dest}: already prepared; delete it or pass --overwrite to write it again")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        _write(src, tmp)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("prepared %s: %d train + %d test images at %d px in %s", src.name, src.train.count,
             src.test.count, src.resolution, dest)
    return dest


def _write(src: Source, tmp: Path) -> None:
    shape = (src.channels, src.resolution, src.resolution)
    for split_name, split in (("train", src.train), ("test", src.test)):
        arr = np.lib.format.open_memmap(tmp / f"{split_name}.npy", mode="w+", dtype=np.uint8,
                                        shape=(split.count, *shape))
        for i in range(0, split.count, CHUNK):
            stop = min(i + CHUNK, split.count)
            block = split.read(i, stop)
            if block.shape[1:] != shape:  # a folder mixing grey and colour images, say
                raise GansweepError(f"{src.description}: images {i}..{stop} decode to {block.shape[1:]}, "
                                    f"expected {shape}")
            arr[i:stop] = block
            log.debug("%s %s: %d/%d", src.name, split_name, stop, split.count)
        arr.flush()
        del arr
        if split.labels is not None:
            np.save(tmp / f"{split_name}_labels.npy", np.asarray(split.labels, dtype=np.int64))
    (tmp / PREPARED_META).write_text(json.dumps(metadata(src), indent=2) + "\n")


def metadata(src: Source) -> dict[str, Any]:
    """The JSON written beside the arrays: enough to know what the copy is without opening it."""
    return {
        "format": PREPARED_FORMAT,
        "version": PREPARED_VERSION,
        "name": src.name,
        "source": src.description,
        "resolution": src.resolution,
        "channels": src.channels,
        "layout": "NCHW",
        "dtype": "uint8",
        "counts": {"train": src.train.count, "test": src.test.count},
        "num_classes": src.num_classes,
        "labels": src.train.labels is not None,
        "split": src.split_rule,
        "resize": RESIZE_RULE,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gansweep": _version(),
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gansweep")
    except PackageNotFoundError:
        return "0+unknown"
