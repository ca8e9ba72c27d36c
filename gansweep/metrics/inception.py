"""Where the Inception-v3 weights file comes from, and how a study learns it is missing.

FID, IS, KID and image precision/recall use torch-fidelity's ``FeatureExtractorInceptionV3``
(``inception-v3-compat``: the TF-ported 2015-12-05 graph, TF-1.x bilinear resize to 299) with its
weights file ``weights-inception-2015-12-05-6726825d.pth``. It is looked for, in order:

1. the path given explicitly (``metrics.inception_weights`` in the study file);
2. the environment variable :data:`INCEPTION_WEIGHTS_ENV` (``GANSWEEP_INCEPTION_WEIGHTS``);
3. torch-fidelity's own download location, ``<torch hub dir>/checkpoints/<file name>``
   (``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub/checkpoints``).

When none exists, a machine with internet downloads it to (3) (what torch-fidelity would do);
offline (or with ``GANSWEEP_OFFLINE=1``) the study is refused at validation by
:func:`gansweep.metrics.check_metrics` with a message that says where to put the file.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import torch

from gansweep import env
from gansweep.errors import GansweepError, MachineError
from gansweep.metrics.cache import cache_key, file_digest, resolve_cache_dir
from gansweep.storage import atomic_write

log = logging.getLogger(__name__)

INCEPTION_WEIGHTS_ENV = "GANSWEEP_INCEPTION_WEIGHTS"
OFFLINE_ENV = "GANSWEEP_OFFLINE"
INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)
INCEPTION_FILENAME = INCEPTION_URL.rsplit("/", 1)[1]
FEATURE_EXTRACTOR_NAME = "inception-v3-compat"
POOL3 = "2048"
LOGITS = "logits_unbiased"


def torch_fidelity_weights_path() -> Path:
    """Where torch-fidelity downloads the weights (``torch.hub``'s checkpoints directory)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILENAME


def where_to_put_it() -> str:
    return (
        f"set {INCEPTION_WEIGHTS_ENV}=/path/to/{INCEPTION_FILENAME} or metrics.inception_weights in "
        f"the study file, or copy the file to {torch_fidelity_weights_path()} "
        f"(download it from {INCEPTION_URL})"
    )


def find_inception_weights(explicit: str | os.PathLike | None = None) -> Path | None:
    """The weights file by the order in the module docstring, or ``None`` if there is none yet.

    An explicit path or environment variable that names a missing file is an error, not a fall-
    through: a typo must not silently download other weights.
    """
    for source, value in (
        ("metrics.inception_weights", explicit),
        (INCEPTION_WEIGHTS_ENV, env.get(INCEPTION_WEIGHTS_ENV)),
    ):
        if value is not None:
            path = Path(value).expanduser()
            if not path.is_file():
                raise GansweepError(f"Inception weights file {str(path)!r} (from {source}) does not exist")
            return path
    cached = torch_fidelity_weights_path()
    return cached if cached.is_file() else None


def is_online(timeout: float = 3.0) -> bool:
    """Whether the weights could be downloaded: false under ``GANSWEEP_OFFLINE=1``, else a TCP probe."""
    if env.get(OFFLINE_ENV):
        return False
    try:
        with socket.create_connection(("github.com", 443), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_inception_weights(explicit: str | os.PathLike | None = None) -> Path:
    """The weights file, downloaded to torch-fidelity's location when missing and online."""
    path = find_inception_weights(explicit)
    if path is not None:
        return path
    if not is_online():
        raise GansweepError(f"no Inception-v3 weights file found offline: {where_to_put_it()}")
    target = torch_fidelity_weights_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s to %s", INCEPTION_URL, target)
    try:
        torch.hub.download_url_to_file(INCEPTION_URL, str(target), progress=False)  # atomic rename
    except Exception as exc:  # the network or the disk, not the user's input: exit 1
        raise MachineError(f"downloading the Inception-v3 weights failed ({exc}): {where_to_put_it()}") from None
    return target


def weights_digest(path: str | os.PathLike, cache_dir: str | Path | None = None) -> str:
    """SHA-256 of the weights file, remembered per (path, size, mtime) under ``cache_dir``."""
    path = Path(path).resolve()
    st = path.stat()
    memo = resolve_cache_dir(cache_dir) / "digests" / (
        cache_key(path=str(path), size=st.st_size, mtime=st.st_mtime_ns) + ".txt"
    )
    try:
        return memo.read_text().strip()
    except OSError:
        pass
    digest = file_digest(path)
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(memo, lambda f: f.write(digest.encode()))
    except OSError as exc:
        log.warning("could not remember the digest of %s: %s", path, exc)
    return digest


def load_inception(weights: str | os.PathLike, device: str | torch.device = "cpu") -> torch.nn.Module:
    """torch-fidelity's Inception-v3 with features ``(POOL3, LOGITS)``, eval mode, on ``device``."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3(
        FEATURE_EXTRACTOR_NAME, [POOL3, LOGITS], feature_extractor_weights_path=str(weights)
    )
    return net.eval().requires_grad_(False).to(device)


def write_random_inception_weights(path: str | os.PathLike, seed: int = 0) -> Path:
    """Save a randomly initialised Inception state dict (for offline tests and benchmarks only).

    Convolutions are He-normal and the classifier LeCun-normal, drawn from a seeded generator, so
    activations stay of order one through the 94 layers (PyTorch's default init would shrink
    them to ~1e-8) and the features discriminate between image sets.
    """
    from unittest import mock

    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None), mock.patch(
        "torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", lambda *a, **k: None
    ):
        net = FeatureExtractorInceptionV3(FEATURE_EXTRACTOR_NAME, [POOL3])
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, torch.nn.Conv2d):
                fan_in = mod.weight[0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
            elif isinstance(mod, torch.nn.Linear):
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=gen) / mod.weight.shape[1] ** 0.5)
                mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=gen))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return path
