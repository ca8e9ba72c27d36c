"""Real image data sets: CIFAR10, CelebA-HQ 128, LSUN-Bedroom, any image folder or npz, and the
prepared on-disk format that trials read fast.

Every source is first described as a :class:`Source` (two :class:`Split` readers that decode index
ranges into uint8 ``(n, C, r, r)``), so loading into memory (:func:`load_source`) and converting
to the prepared format (:mod:`gansweep.data.prepare`) share one decoding path and give the same
pixels.

Where data sets live. ``root`` is the data root: the study's data root, else the environment
variable ``GANSWEEP_DATA``. Under it, by name:

- ``cifar10``: torchvision's layout, ``<root>/cifar10/cifar-10-batches-py/`` (or
  ``<root>/cifar-10-batches-py/``); downloaded there only where ``download`` is allowed
  (``GANSWEEP_DOWNLOAD=1``, for cluster nodes with internet). Official splits: 50k train,
  10k test.
- ``celeba_hq_128``, ``lsun_bedroom``: ``<root>/<name>/`` (a folder of images, searched
  recursively; a folder with ``train/`` and ``test/`` uses those as the splits), or
  ``<root>/<name>.npz``, or ``<root>/<name>/`` as an LSUN LMDB (``data.mdb``; needs the ``lmdb``
  package). Held out for evaluation: 3,000 images of CelebA-HQ and 10,000 of LSUN (the FID sample
  sizes of Kurach et al.), chosen by a hash of each image's name.
- a prepared copy at ``<root>/prepared/<name>-<resolution>/`` is used first when it exists
  (``gansweep data prepare``).
- ``folder:<path>`` and ``npz:<path>`` name anything else; a relative path is taken under the data
  root when one is set. ``folder:`` pointing at a prepared directory reads it.

Pixels. Images are converted to RGB (a source whose first image is grey stays grey), the shorter
side is resized to the resolution with PIL's antialiased bicubic filter, and the centre square is
cropped. (The paper notes that papers rarely say how they scaled; this is how gansweep does.
compare_gan centre-crops LSUN to 128 without resizing: a different data set.) Memory: a loaded
data set is float32 in [-1, 1], four bytes per pixel; the train split is capped at
``GANSWEEP_DATA_MAX_GB`` (default 16) GiB and the cap is logged and recorded in ``info``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gansweep import env
from gansweep.data.base import DATASETS, PATH_LOADERS, Dataset
from gansweep.data.specs import DATA_SPECS, PATH_PREFIXES, DataSpec
from gansweep.errors import GansweepError, path_error

log = logging.getLogger(__name__)

DATA_ENV = "GANSWEEP_DATA"
DOWNLOAD_ENV = "GANSWEEP_DOWNLOAD"
MAX_GB_ENV = "GANSWEEP_DATA_MAX_GB"
DEFAULT_MAX_GB = 16.0
PREPARED_META = "gansweep-data.json"
PREPARED_FORMAT = "gansweep-prepared"
PREPARED_VERSION = 1
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
SPLIT_SALT = "gansweep-split-v1"
CHUNK = 1024  # images decoded per read


# ----------------------------------------------------------------------------------- sources


@dataclass
class Split:
    """One split of a source: ``read(start, stop)`` → uint8 ``(stop-start, C, r, r)``."""

    count: int
    read: Callable[[int, int], np.ndarray]
    labels: np.ndarray | None = None


@dataclass
class Source:
    """A data set described, not yet decoded."""

    name: str
    description: str  # where it came from, for errors and the prepared JSON
    train: Split
    test: Split
    channels: int
    resolution: int
    num_classes: int = 0
    split_rule: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def hash_order(keys: Sequence[str]) -> np.ndarray:
    """A permutation of ``range(len(keys))`` fixed by the keys alone (no RNG, stable everywhere)."""
    digests = [hashlib.blake2b(f"{SPLIT_SALT}:{k}".encode(), digest_size=8).digest() for k in keys]
    return np.array(sorted(range(len(keys)), key=lambda i: (digests[i], i)), dtype=np.int64)


def held_out(n: int, wanted: int) -> int:
    """Test-split size: ``wanted`` where the set is large, else a tenth (at least 1 of 2+)."""
    if n < 2:
        return 0
    return min(wanted, max(1, n // 10)) if n < 2 * wanted else wanted


def split_indices(keys: Sequence[str], n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: the ``n_test`` keys first in :func:`hash_order` are the test split."""
    order = hash_order(keys)
    return order[n_test:], order[:n_test]


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def fit_image(img: Any, resolution: int, mode: str) -> np.ndarray:
    """PIL image → uint8 ``(C, r, r)``: ``mode``, shorter side resized (bicubic), centre crop."""
    from PIL import Image

    img = img.convert(mode)
    w, h = img.size
    if min(w, h) != resolution:
        scale = resolution / min(w, h)
        size = (max(resolution, round(w * scale)), max(resolution, round(h * scale)))
        img = img.resize(size, Image.Resampling.BICUBIC)
        w, h = img.size
    left, top = (w - resolution) // 2, (h - resolution) // 2
    if (w, h) != (resolution, resolution):
        img = img.crop((left, top, left + resolution, top + resolution))
    a = np.asarray(img, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _open_image(path: Path) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()
        return img
    except (UnidentifiedImageError, OSError) as exc:
        raise GansweepError(f"{path}: not a readable image ({exc.__class__.__name__}); "
                            "remove it or convert it to PNG/JPEG") from None


def _image_reader(paths: Sequence[Path], resolution: int, mode: str) -> Callable[[int, int], np.ndarray]:
    channels = 1 if mode == "L" else 3

    def read(start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, channels, resolution, resolution), dtype=np.uint8)
        with ThreadPoolExecutor(_threads()) as pool:
            for i, a in enumerate(pool.map(lambda p: fit_image(_open_image(p), resolution, mode),
                                           paths[start:stop])):
                out[i] = a
        return out

    return read


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, hidden files skipped), sorted by relative path."""
    files = [p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def folder_source(folder: Path, name: str, resolution: int | None, test_size: int) -> Source:
    """A folder of images; ``train/`` + ``test/`` subfolders are taken as the splits."""
    if not folder.is_dir():
        raise GansweepError(f"{folder}: no such image folder; put the images (PNG/JPEG, any "
                            "subfolders) there, or give another path")
    explicit = (folder / "train").is_dir() and (folder / "test").is_dir()
    if explicit:
        train_files, test_files = list_images(folder / "train"), list_images(folder / "test")
        rule = "the folder's train/ and test/ subfolders"
    else:
        files = list_images(folder)
        n_test = held_out(len(files), test_size)
        tr, te = split_indices([p.relative_to(folder).as_posix() for p in files], n_test)
        train_files, test_files = [files[i] for i in tr], [files[i] for i in te]
        rule = f"{n_test} images held out by a hash of their relative paths"
    if not train_files:
        raise GansweepError(f"{folder}: no images found (looked for {', '.join(IMAGE_SUFFIXES)}); "
                            "put the data set's images there")
    first = _open_image(train_files[0])
    mode = "L" if first.mode in GREY_MODES else "RGB"
    res = resolution or min(first.size)
    return Source(name, f"image folder {folder.resolve()}",
                  Split(len(train_files), _image_reader(train_files, res, mode)),
                  Split(len(test_files), _image_reader(test_files, res, mode)),
                  channels=1 if mode == "L" else 3, resolution=res, split_rule=rule)


def to_nchw(x: np.ndarray, where: str) -> np.ndarray:
    """uint8 images NHWC, NCHW or NHW → an NCHW view (no copy for NCHW)."""
    if x.dtype != np.uint8:
        raise GansweepError(f"{where}: images must be uint8 in [0, 255], but got dtype {x.dtype}; "
                            "convert with (x * 255).round().astype(numpy.uint8)")
    if x.ndim == 3:
        return x[:, None]
    if x.ndim != 4:
        raise GansweepError(f"{where}: images must be (N, H, W, C), (N, C, H, W) or (N, H, W), "
                            f"but got shape {x.shape}")
    chw = x.shape[1] in (1, 3, 4)
    hwc = x.shape[3] in (1, 3, 4)
    if chw and hwc:  # both readings possible: the square one wins, NHWC on a tie
        chw = x.shape[2] == x.shape[3] and x.shape[1] != x.shape[2]
        hwc = not chw
    if not (chw or hwc):
        raise GansweepError(f"{where}: cannot tell the channel axis of shape {x.shape}; "
                            "store 1, 3 or 4 channels first (N, C, H, W) or last (N, H, W, C)")
    y = x if chw else x.transpose(0, 3, 1, 2)
    return y[:, :3] if y.shape[1] == 4 else y  # RGBA → RGB


def _array_reader(x: np.ndarray, idx: np.ndarray | None, resolution: int) -> Callable[[int, int], np.ndarray]:
    from PIL import Image

    def read(start: int, stop: int) -> np.ndarray:
        sel = np.arange(start, stop) if idx is None else idx[start:stop]
        chunk = np.ascontiguousarray(x[np.sort(sel)] if idx is not None else x[start:stop])
        if idx is not None:  # restore the requested order after the sorted (memmap-friendly) read
            chunk = chunk[np.argsort(np.argsort(sel))]
        if chunk.shape[-1] == resolution and chunk.shape[-2] == resolution:
            return chunk
        mode = "L" if chunk.shape[1] == 1 else "RGB"
        imgs = [Image.fromarray(c[0] if mode == "L" else c.transpose(1, 2, 0), mode) for c in chunk]
        out = np.empty((len(imgs), chunk.shape[1], resolution, resolution), dtype=np.uint8)
        for i, img in enumerate(imgs):
            out[i] = fit_image(img, resolution, mode)
        return out

    return read


def array_source(name: str, description: str, x: np.ndarray, y: np.ndarray | None,
                 x_test: np.ndarray | None, y_test: np.ndarray | None, resolution: int | None,
                 test_size: int) -> Source:
    """In-memory (or memmapped) uint8 arrays; without ``x_test`` a hash split holds images out."""
    x = to_nchw(x, description)
    res = resolution or min(x.shape[-2:])
    _check_labels(y, len(x), description, "y")
    if x_test is not None:
        x_test = to_nchw(x_test, description + " (x_test)")
        _check_labels(y_test, len(x_test), description, "y_test")
        train = Split(len(x), _array_reader(x, None, res), y)
        test = Split(len(x_test), _array_reader(x_test, None, res), y_test)
        rule = "the file's own test arrays"
    else:
        n_test = held_out(len(x), test_size)
        tr, te = split_indices([str(i) for i in range(len(x))], n_test)
        train = Split(len(tr), _array_reader(x, tr, res), None if y is None else y[tr])
        test = Split(len(te), _array_reader(x, te, res), None if y is None else y[te])
        rule = f"{n_test} images held out by a hash of their index"
    labels = [a for a in (train.labels, test.labels) if a is not None and len(a)]
    classes = int(max(a.max() for a in labels)) + 1 if labels else 0
    return Source(name, description, train, test, channels=x.shape[1], resolution=res,
                  num_classes=classes, split_rule=rule)


def _check_labels(y: np.ndarray | None, n: int, where: str, key: str) -> None:
    if y is None:
        return
    if y.ndim != 1 or len(y) != n or not np.issubdtype(y.dtype, np.integer) or (n and y.min() < 0):
        raise GansweepError(f"{where}: '{key}' must be {n} non-negative integer labels, "
                            f"but got dtype {y.dtype}, shape {y.shape}")


def npz_source(path: Path, name: str, resolution: int | None, test_size: int) -> Source:
    """``x`` uint8 images (NHWC or NCHW), optional ``y``; optional ``x_test``/``y_test``."""
    if not path.is_file():
        raise GansweepError(f"{path}: no such npz file; save one with numpy.savez(path, x=images_uint8, "
                            "y=labels) (y optional)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise path_error(f"{path}: not a readable .npz file ({exc}); write it with numpy.savez", exc) from None
    if "x" not in arrays:
        raise GansweepError(f"{path}: no array 'x' (has {', '.join(sorted(arrays)) or 'none'}); "
                            "save the images as x=..., labels as y=...")
    return array_source(name, f"npz file {path.resolve()}", arrays["x"], arrays.get("y"), arrays.get("x_test"),
                        arrays.get("y_test"), resolution, test_size)


def prepared_source(path: Path, name: str | None, resolution: int | None) -> Source:
    """A directory written by :func:`gansweep.data.prepare.prepare` (memmapped, nothing copied)."""
    meta = read_prepared_meta(path)
    arrays = {}
    for split in ("train", "test"):
        f = path / f"{split}.npy"
        if not f.is_file():
            raise GansweepError(f"{f}: missing from the prepared data set; prepare it again")
        arrays[split] = np.load(f, mmap_mode="r")
        lf = path / f"{split}_labels.npy"
        arrays[f"{split}_labels"] = np.load(lf) if lf.is_file() else None
        if arrays[split].shape[0] != meta["counts"][split]:
            raise GansweepError(f"{f}: holds {arrays[split].shape[0]} images but {PREPARED_META} says "
                                f"{meta['counts'][split]}; the copy is damaged, prepare it again")
    res = resolution or int(meta["resolution"])
    tr = arrays["train"]
    return Source(name or meta["name"], f"prepared data set {path.resolve()} (from {meta['source']})",
                  Split(len(tr), _array_reader(tr, None, res), arrays["train_labels"]),
                  Split(len(arrays["test"]), _array_reader(arrays["test"], None, res), arrays["test_labels"]),
                  channels=int(meta["channels"]), resolution=res, num_classes=int(meta.get("num_classes", 0)),
                  split_rule=meta.get("split", ""))


def read_prepared_meta(path: Path) -> dict[str, Any]:
    f = path / PREPARED_META
    try:
        meta = json.loads(f.read_text())
    except FileNotFoundError:
        raise GansweepError(f"{path}: not a prepared data set (no {PREPARED_META}); "
                            "create one with 'gansweep data prepare'") from None
    except (OSError, ValueError) as exc:
        raise path_error(f"{f}: unreadable ({exc}); prepare the data set again", exc) from None
    if meta.get("format") != PREPARED_FORMAT or meta.get("version") != PREPARED_VERSION:
        raise GansweepError(f"{f}: format {meta.get('format')!r} version {meta.get('version')!r}, but this "
                            f"gansweep reads {PREPARED_FORMAT!r} version {PREPARED_VERSION}; prepare it again")
    return meta


def is_prepared(path: Path) -> bool:
    return (path / PREPARED_META).is_file()


def lmdb_source(path: Path, name: str, resolution: int | None, test_size: int) -> Source:
    """LSUN's LMDB (``data.mdb``: key → encoded image), as the LSUN download ships it."""
    try:
        import lmdb
    except ImportError:
        raise GansweepError(f"{path}: an LMDB data set needs the 'lmdb' package (pip install lmdb), or "
                            "export it to a folder of images first") from None
    import io

    from PIL import Image

    env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False)
    with env.begin() as txn:
        keys = [bytes(k) for k, _ in txn.cursor()]
    if not keys:
        raise GansweepError(f"{path}: the LMDB holds no images")
    n_test = held_out(len(keys), test_size)
    tr, te = split_indices([k.decode("latin-1") for k in keys], n_test)

    def reader(idx: np.ndarray, res: int) -> Callable[[int, int], np.ndarray]:
        def read(start: int, stop: int) -> np.ndarray:
            with env.begin() as txn:
                imgs = [Image.open(io.BytesIO(txn.get(keys[i]))) for i in idx[start:stop]]
            return np.stack([fit_image(im, res, "RGB") for im in imgs]) if imgs else \
                np.empty((0, 3, res, res), np.uint8)
        return read

    res = resolution or 128
    return Source(name, f"LMDB {path}", Split(len(tr), reader(tr, res)), Split(len(te), reader(te, res)),
                  channels=3, resolution=res, split_rule=f"{n_test} images held out by a hash of their keys")


# ------------------------------------------------------------------------------- named sets


KNOWN: dict[str, DataSpec] = {name: DATA_SPECS[name] for name in DATA_SPECS if not DATA_SPECS[name].embedded}
"""The named real data sets (their facts: :data:`gansweep.data.specs.DATA_SPECS`)."""


def data_root(root: str | os.PathLike[str] | None) -> Path | None:
    """The data root: ``root`` if given, else ``$GANSWEEP_DATA``, else None."""
    value = root if root not in (None, "") else env.get(DATA_ENV)
    return Path(value).expanduser() if value is not None else None


def require_root(name: str, root: str | os.PathLike[str] | None) -> Path:
    r = data_root(root)
    if r is None:
        raise GansweepError(f"data set {name!r}: no data root; set the study's data root or {DATA_ENV}=DIR, "
                            f"with {KNOWN[name].fetch_hint} in DIR/{name}")
    if not r.is_dir():
        raise GansweepError(f"data set {name!r}: data root {r} does not exist; create it, with "
                            f"{KNOWN[name].fetch_hint} in {r / name}")
    return r


def prepared_dir(root: str | os.PathLike[str], name: str, resolution: int) -> Path:
    """Where ``gansweep data prepare`` puts a named data set by default, and where loading looks."""
    return Path(root) / "prepared" / f"{name}-{resolution}"


def download_allowed(download: bool | None) -> bool:
    if download is not None:
        return download
    return env.get(DOWNLOAD_ENV)


def cifar10_source(root: Path, resolution: int | None, download: bool | None) -> Source:
    """torchvision's CIFAR10 under ``root/cifar10`` (or ``root`` itself): 50k train, 10k test."""
    candidates = [root / "cifar10", root]
    where = next((c for c in candidates if (c / "cifar-10-batches-py").is_dir()), None)
    if where is None:
        if not download_allowed(download):
            raise GansweepError(f"data set 'cifar10': no {root / 'cifar10' / 'cifar-10-batches-py'}; put "
                                f"torchvision's CIFAR10 files there, or set {DOWNLOAD_ENV}=1 to download "
                                "them (needs internet)")
        where = root / "cifar10"
        where.mkdir(parents=True, exist_ok=True)
    from torchvision.datasets import (
        CIFAR10,  # seconds to import: only once the files are there
    )

    try:
        sets = {s: CIFAR10(str(where), train=s == "train", download=download_allowed(download))
                for s in ("train", "test")}
    except RuntimeError as exc:  # torchvision: "Dataset not found or corrupted"
        raise GansweepError(f"data set 'cifar10': {where / 'cifar-10-batches-py'}: {exc}") from None
    res = resolution or 32
    splits = {s: Split(len(d.data), _array_reader(to_nchw(d.data, "cifar10"), None, res),
                       np.asarray(d.targets, dtype=np.int64)) for s, d in sets.items()}
    return Source("cifar10", f"torchvision CIFAR10 in {where}", splits["train"], splits["test"], channels=3,
                  resolution=res, num_classes=10, split_rule="the official 50,000 / 10,000 split")


def named_source(name: str, root: str | os.PathLike[str] | None, resolution: int | None,
                 download: bool | None = None, use_prepared: bool = True) -> Source:
    """A named real data set from the data root: prepared copy first, then its raw form."""
    known = KNOWN[name]
    r = require_root(name, root)
    res = resolution or known.side
    if use_prepared and is_prepared(prepared_dir(r, name, res)):
        return prepared_source(prepared_dir(r, name, res), name, res)
    if name == "cifar10":
        return cifar10_source(r, resolution, download)
    base = r / name
    if base.with_suffix(".npz").is_file():
        return npz_source(base.with_suffix(".npz"), name, res, known.test_size)
    if (base / "data.mdb").is_file():
        return lmdb_source(base, name, res, known.test_size)
    if base.is_dir():
        if is_prepared(base):
            return prepared_source(base, name, res)
        return folder_source(base, name, res, known.test_size)
    raise GansweepError(f"data set {name!r}: nothing at {base} or {base}.npz; put {known.fetch_hint} there "
                        f"(then 'gansweep data prepare {name}' makes loading fast)")


def path_source(spec: str, root: str | os.PathLike[str] | None, resolution: int | None) -> Source:
    """``folder:<path>`` or ``npz:<path>``; relative paths are taken under the data root if set."""
    kind, _, raw = spec.partition(":")
    if kind not in ("folder", "npz") or not raw:
        raise GansweepError(f"data set {spec!r}: write folder:<path> or npz:<path>")
    path = Path(raw).expanduser()
    r = data_root(root)
    if not path.is_absolute() and r is not None:
        path = r / path
    if kind == "npz":
        return npz_source(path, spec, resolution, 10_000)
    if is_prepared(path):
        return prepared_source(path, spec, resolution)
    return folder_source(path, spec, resolution, 10_000)


def source_for(name: str, root: str | os.PathLike[str] | None = None, resolution: int | None = None,
               download: bool | None = None, use_prepared: bool = True) -> Source:
    """The :class:`Source` of any real data set name gansweep accepts."""
    if name in KNOWN:
        return named_source(name, root, resolution, download, use_prepared)
    if name.startswith(("folder:", "npz:")):
        return path_source(name, root, resolution)
    raise GansweepError(f"unknown real data set {name!r}; choose from {', '.join(KNOWN)}, folder:<path>, "
                        "npz:<path>")


# ---------------------------------------------------------------------------------- loading


def read_split(split: Split, limit: int | None = None) -> np.ndarray:
    """The whole split (or its first ``limit`` images) as one uint8 array."""
    n = split.count if limit is None else min(limit, split.count)
    parts = [split.read(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK)]
    return np.concatenate(parts) if parts else split.read(0, 0)


def to_float(x: np.ndarray) -> torch.Tensor:
    """uint8 → float32 in [-1, 1] (0 → -1, 255 → 1), converted chunk by chunk."""
    out = torch.empty(x.shape, dtype=torch.float32)
    for i in range(0, len(x), CHUNK * 8):
        out[i:i + CHUNK * 8] = torch.from_numpy(np.ascontiguousarray(x[i:i + CHUNK * 8])).float()
    return out.div_(127.5).sub_(1.0)


def max_train_images(channels: int, resolution: int) -> int:
    gib = env.get(MAX_GB_ENV)
    return max(1, int(gib * 2**30 // (4 * channels * resolution * resolution)))


def load_source(src: Source) -> Dataset:
    """Decode a source into the in-memory :class:`Dataset` every trial trains from."""
    cap = max_train_images(src.channels, src.resolution)
    limited = src.train.count > cap
    if limited:
        log.warning("%s: %d training images do not fit %s=%s GiB as float32; using the first %d (a fixed "
                    "hash-ordered subset)", src.name, src.train.count, MAX_GB_ENV,
                    env.get(MAX_GB_ENV), cap)
    train = read_split(src.train, cap)
    test = read_split(src.test)
    labels = {s: (None if sp.labels is None else torch.as_tensor(np.asarray(sp.labels[:n]), dtype=torch.int64))
              for s, sp, n in (("train", src.train, len(train)), ("test", src.test, len(test)))}
    info = {"source": src.description, "split": src.split_rule, **src.extra}
    if limited:
        info["train_limited"] = {"used": len(train), "available": src.train.count}
    return Dataset(name=src.name, train=to_float(train), test=to_float(test), train_labels=labels["train"],
                   test_labels=labels["test"], num_classes=src.num_classes, info=info)


def load_real(name: str, resolution: int | None = None, root: str | None = None,
              download: bool | None = None) -> Dataset:
    """Load any real data set by name (registered names, ``folder:…``, ``npz:…``)."""
    return load_source(source_for(name, root, resolution, download))


def _named_loader(name: str) -> Callable[..., Dataset]:
    def load(resolution: int | None = None, root: str | None = None, download: bool | None = None) -> Dataset:
        return load_real(name, resolution=resolution, root=root, download=download)

    load.__name__ = f"load_{name}"
    load.__doc__ = f"``{name}`` from the data root (see :mod:`gansweep.data.real`)."
    return load


for _name in KNOWN:
    DATASETS.add(_name, _named_loader(_name))

def _load_path(spec: str, resolution: int | None = None, root: str | None = None) -> Dataset:
    return load_real(spec, resolution, root)


for _prefix in PATH_PREFIXES:
    PATH_LOADERS.add(_prefix, _load_path)
