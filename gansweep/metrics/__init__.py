"""Evaluation metrics: FID/IS/KID as torch-fidelity computes them, and gansweep's embedded ones.

Staged as features → statistics → metric (:mod:`.features`, :mod:`.frechet`, :mod:`.is_kid`,
:mod:`.prd`, :mod:`.msssim`, :mod:`.mixtures`, :mod:`.recon`); :class:`Evaluator` ties them to a
trial with cached reference statistics, :func:`check_metrics` refuses what a study cannot compute
before it runs, and :data:`METRICS` is the list of names a study may use.

Names are resolved lazily (PEP 562): importing :mod:`gansweep.metrics.specs`, or reading
``METRICS`` from here, does not import torch, so torch-free commands (status, plot, report) can ask
which way a metric is better without paying for the networks.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "digits_classifier": "digits_net",
    "EvalOptions": "checks", "Evaluator": "evaluator", "check_metrics": "checks",
    "frechet_distance": "frechet", "gaussian_statistics": "frechet",
    "INCEPTION_WEIGHTS_ENV": "inception", "find_inception_weights": "inception",
    **{name: "specs" for name in (
        "EMBEDDED_DATASETS", "KEY_FD", "KEY_FID", "KEY_HQ", "KEY_IS", "KEY_IS_STD", "KEY_KID", "KEY_KID_STD",
        "KEY_MMD", "KEY_MODES", "KEY_MSSSIM", "KEY_PRECISION", "KEY_RECALL", "KEY_RECON", "KEY_RKL", "METRICS",
        "MetricSpec", "default_primary", "result_keys")},
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
