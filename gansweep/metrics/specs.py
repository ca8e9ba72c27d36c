"""What a study may name under ``metrics``: the registry of metric specifications.

Each :class:`MetricSpec` says which way is better, which data kinds it applies to and which
result keys it reports. The study schema and :func:`check_metrics` take their allowed names from
:data:`METRICS`, so a metric is listed once.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansweep.data.specs import EMBEDDED_DATASETS, IMAGE, POINT_DATASETS, POINTS
from gansweep.registry import Registry

KEY_FD = "fd"
KEY_MODES = "modes"
KEY_HQ = "hq"
KEY_RKL = "rkl"
KEY_MMD = "mmd"
KEY_FID = "fid"
KEY_IS = "is"
KEY_IS_STD = "is_std"
KEY_KID = "kid"
KEY_KID_STD = "kid_std"
KEY_PRECISION = "precision"
KEY_RECALL = "recall"
KEY_MSSSIM = "msssim"
KEY_RECON = "recon"



@dataclass(frozen=True)
class MetricSpec:
    """A metric a study may request.

    ``keys`` are the result keys it reports (``is`` → ``is``, ``is_std``); ``inception`` says
    whether it needs the Inception-v3 weights file on image data; ``label`` names it on figures.
    """

    name: str
    higher_is_better: bool
    kinds: frozenset[str]
    doc: str
    keys: tuple[str, ...] = ()
    inception: bool = False
    label: str = ""

    def __post_init__(self) -> None:
        if not self.keys:
            object.__setattr__(self, "keys", (self.name,))
        if not self.label:
            object.__setattr__(self, "label", self.name)
        if not self.kinds or not self.kinds <= {IMAGE, POINTS}:
            raise ValueError(f"metric {self.name!r}: kinds must be a non-empty subset of image, points")


METRICS: Registry[MetricSpec] = Registry("metric")

_BOTH = frozenset({IMAGE, POINTS})
_IMG = frozenset({IMAGE})
_PTS = frozenset({POINTS})

for _spec in (
    MetricSpec(
        KEY_FD, False, _BOTH,
        "Fréchet distance in the data set's own feature space: the 64-d penultimate layer of "
        "gansweep's digits classifier for `digits`, the raw 2-D coordinates for mixtures.",
        label="Fréchet distance (FD)",
    ),
    MetricSpec(
        KEY_MODES, True, _PTS, "Mixture modes with at least one generated sample within 3 std.",
        label="modes covered",
    ),
    MetricSpec(
        KEY_HQ, True, _PTS, "Share of generated samples within 3 std of some mixture mode.",
        label="high-quality samples (share)",
    ),
    MetricSpec(
        KEY_RKL, False, _PTS,
        "Reverse KL of the high-quality samples' histogram over their nearest modes to uniform "
        "(VEEGAN; PacGAN's Table 1): 0 balanced over all modes, log K all on one.",
        label="reverse KL of the mode histogram",
    ),
    MetricSpec(
        KEY_MMD, False, _PTS,
        "Maximum mean discrepancy between the generated and the real points, average of Gaussian "
        "kernels 3, 10 and 30 mode stds wide: small only when the samples are sharp and spread "
        "over all modes in the data's proportions. The mixtures' default primary.",
        label="MMD (Gaussian kernels, 3-30 std)",
    ),
    MetricSpec(
        KEY_FID, False, _IMG,
        "Fréchet Inception Distance, Inception-v3 pool3 (2048-d), exactly as torch-fidelity.",
        inception=True,
        label="FID",
    ),
    MetricSpec(
        KEY_IS, True, _IMG, "Inception Score (mean and std over splits), as torch-fidelity.",
        keys=(KEY_IS, KEY_IS_STD), inception=True,
        label="Inception score",
    ),
    MetricSpec(
        KEY_KID, False, _IMG,
        "Kernel Inception Distance: unbiased cubic-polynomial MMD² over random subsets (mean, std).",
        keys=(KEY_KID, KEY_KID_STD), inception=True,
        label="KID",
    ),
    MetricSpec(
        KEY_PRECISION, True, _BOTH,
        "Improved precision (Kynkäänniemi et al. 2019, k=3): share of generated samples inside the "
        "real k-NN manifold; Inception pool3 features for images, raw points for mixtures.",
        inception=True,
    ),
    MetricSpec(
        KEY_RECALL, True, _BOTH,
        "Improved recall (Kynkäänniemi et al. 2019, k=3): share of real samples inside the generated "
        "k-NN manifold; Inception pool3 features for images, raw points for mixtures.",
        inception=True,
    ),
    MetricSpec(
        KEY_MSSSIM, False, _IMG,
        "Mean MS-SSIM between random pairs of generated samples (lower = more diverse).",
        label="MS-SSIM",
    ),
    MetricSpec(
        KEY_RECON, False, _BOTH,
        "Test-set reconstruction error (Xiang & Li 2017): mean squared error after optimising the "
        "latent of each test sample with RMSprop; unconditional generators only.",
        label="reconstruction error",
    ),
):
    METRICS.add(_spec.name, _spec)


def default_primary(dataset_name: str) -> str:
    """``mmd`` for the point mixtures (ring8, grid25: FD, a one-Gaussian fit, scores a blob like
    perfect samples there), ``fd`` for digits, ``fid`` for all others."""
    if dataset_name in POINT_DATASETS:
        return KEY_MMD
    return KEY_FD if dataset_name in EMBEDDED_DATASETS else KEY_FID


def result_keys(names: list[str]) -> list[str]:
    """The result keys reported for the metric ``names``, in order (``kid`` → kid, kid_std)."""
    return [key for name in names for key in METRICS[name].keys]


def higher_is_better(column: str) -> bool:
    """Whether a larger value of a result column is better (the score, ``*_std`` and unknown
    columns: no, as the searchers minimise the score)."""
    spec = METRICS.get(column)
    return bool(spec and spec.higher_is_better)


def label(column: str) -> str:
    """A result column's name on figures (its metric's label, else the column itself)."""
    spec = METRICS.get(column)
    return spec.label if spec else column
