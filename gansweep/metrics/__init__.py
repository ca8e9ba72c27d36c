"""Evaluation metrics: FID/IS/KID as torch-fidelity computes them, and gansweep's embedded ones.

Staged as features → statistics → metric (:mod:`.features`, :mod:`.frechet`, :mod:`.is_kid`,
:mod:`.prd`, :mod:`.msssim`, :mod:`.mixtures`, :mod:`.recon`); :class:`Evaluator` ties them to a
trial with cached reference statistics, :func:`check_metrics` refuses what a study cannot compute
before it runs, and :data:`METRICS` is the list of names a study may use.
"""

from gansweep.metrics.digits_net import digits_classifier
from gansweep.metrics.evaluator import EvalOptions, Evaluator, check_metrics
from gansweep.metrics.frechet import frechet_distance, gaussian_statistics
from gansweep.metrics.inception import INCEPTION_WEIGHTS_ENV, find_inception_weights
from gansweep.metrics.specs import (
    EMBEDDED_DATASETS,
    KEY_FD,
    KEY_FID,
    KEY_HQ,
    KEY_IS,
    KEY_IS_STD,
    KEY_KID,
    KEY_KID_STD,
    KEY_MODES,
    KEY_MSSSIM,
    KEY_PRECISION,
    KEY_RECALL,
    KEY_RECON,
    METRICS,
    MetricSpec,
    default_primary,
    result_keys,
)

__all__ = [
    "EMBEDDED_DATASETS",
    "EvalOptions",
    "Evaluator",
    "INCEPTION_WEIGHTS_ENV",
    "KEY_FD",
    "KEY_FID",
    "KEY_HQ",
    "KEY_IS",
    "KEY_IS_STD",
    "KEY_KID",
    "KEY_KID_STD",
    "KEY_MODES",
    "KEY_MSSSIM",
    "KEY_PRECISION",
    "KEY_RECALL",
    "KEY_RECON",
    "METRICS",
    "MetricSpec",
    "check_metrics",
    "default_primary",
    "digits_classifier",
    "find_inception_weights",
    "frechet_distance",
    "gaussian_statistics",
    "result_keys",
]
