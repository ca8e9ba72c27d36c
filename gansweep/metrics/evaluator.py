"""Evaluate a trainer's generator on a study's metrics: validation, reference cache, one call per eval.

:func:`check_metrics` runs at study validation, before anything trains: unknown names, metrics
that do not apply to the data kind, and a missing Inception weights file offline are refused
with one line. :class:`Evaluator` is built once per trial: it resolves the feature spaces and
loads (or, the first time, computes and caches) the statistics of the real test split. Calling
it samples the generator in large batches on the device, runs every needed feature space on each
batch, and computes the metrics in the staged form features → statistics → metric.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from gansweep.data.base import Dataset
from gansweep.errors import GansweepError
from gansweep.metrics import inception as inc
from gansweep.metrics import is_kid, msssim, prd, recon
from gansweep.metrics.checks import EvalOptions, applicable, check_metrics, needs_inception  # noqa: F401  (part of this API)
from gansweep.metrics import specs as S
from gansweep.metrics.cache import cache_key, load_or_compute, resolve_cache_dir, tensor_digest
from gansweep.metrics.features import (
    DIGITS_LAYER,
    RAW,
    DigitsSpace,
    FeatureSpace,
    InceptionSpace,
    PointsSpace,
    batched,
    extract,
)
from gansweep.metrics.frechet import frechet_distance, gaussian_statistics
from gansweep.metrics.mixtures import KERNEL_WIDTHS, MODE_MIN_SAMPLES, KernelMMD, mode_histogram, reverse_kl

log = logging.getLogger(__name__)

REFERENCE_SPLIT = "test"
REFERENCE_FORMAT = 1
STATS = "stats"
FEATURES = "features"
MIXTURE_KEYS = frozenset({S.KEY_MODES, S.KEY_HQ, S.KEY_RKL})
"""The metrics of the mode histogram (:mod:`gansweep.metrics.mixtures`), computed together."""


def _is_conditional(trainer: Any) -> bool:
    cfg = getattr(trainer, "cfg", None)
    return bool(
        getattr(trainer, "conditional", False)
        or getattr(cfg, "conditional", False)
        or (getattr(cfg, "num_classes", 0) or 0) > 0
    )


class Evaluator:
    """Computes the metrics ``names`` of a trainer's generator against ``dataset``'s test split.

    Args:
        dataset: the trial's data set; the reference is the first ``min(samples, len(test))``
            samples of ``dataset.test``.
        names: metric names from :data:`~gansweep.metrics.METRICS`.
        samples: generated samples per evaluation (``metrics.samples``).
        device: where sampling, features and statistics run.
        cache_dir: where reference statistics, the digits classifier and weight digests are
            cached (default ``$GANSWEEP_CACHE`` or ``~/.cache/gansweep``); share it between trials.
        inception_weights: the Inception-v3 weights file (else env / torch-fidelity's cache /
            download, see :mod:`gansweep.metrics.inception`).
        seed: seeds the MS-SSIM pairing (IS and KID use torch-fidelity's fixed seed 2020).
        options: :class:`EvalOptions` fields to override (e.g. ``{"is_splits": 5}``).

    ``evaluator(trainer)`` returns ``{key: float}`` for :func:`~gansweep.metrics.result_keys`
    of ``names``; a metric of non-finite samples is NaN. ``info`` holds what the results rest on
    (reference size, digits classifier accuracy, feature-space keys).
    """

    def __init__(
        self,
        dataset: Dataset,
        names: list[str],
        samples: int,
        device: str | torch.device = "cpu",
        cache_dir: str | Path | None = None,
        inception_weights: str | None = None,
        seed: int = 0,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.dataset = dataset
        self.names = list(dict.fromkeys(names))
        self.specs = applicable(self.names, dataset.kind, dataset.name)
        if int(samples) < 2:
            raise GansweepError(f"metrics.samples must be at least 2, got {samples}")
        self.samples = int(samples)
        self.device = torch.device(device)
        self.cache_dir = resolve_cache_dir(cache_dir)
        self.seed = int(seed)
        self.options = EvalOptions.from_mapping(options)
        self.kind = dataset.kind
        self.info: dict[str, Any] = {}
        wanted = set(self.names)
        if S.KEY_IS in wanted and self.options.is_splits > self.samples:
            raise GansweepError(f"is splits ({self.options.is_splits}) exceed metrics.samples ({self.samples})")
        if wanted & {S.KEY_PRECISION, S.KEY_RECALL} and min(self.samples, len(dataset.test)) <= (
                self.options.prc_neighborhood):
            raise GansweepError(
                f"precision/recall need more than k={self.options.prc_neighborhood} samples of each set")

        self.domain: FeatureSpace | None = None
        if S.KEY_FD in wanted or (self.kind == S.POINTS and wanted & {S.KEY_PRECISION, S.KEY_RECALL}):
            if self.kind == S.POINTS:
                self.domain = PointsSpace()
            else:
                self.domain = DigitsSpace(dataset.resolution, self.device, self.cache_dir)
                self.info["digits_classifier_accuracy"] = self.domain.test_accuracy
        self.inception: InceptionSpace | None = None
        if needs_inception(self.specs, self.kind):
            weights = inc.resolve_inception_weights(inception_weights)
            self.inception = InceptionSpace(weights, self.device, self.cache_dir)
            self.info["inception_weights"] = str(weights)
        if self.kind == S.POINTS and wanted & MIXTURE_KEYS and "centers" not in dataset.info:
            raise GansweepError(f"metrics modes/hq/rkl need a mixture data set; {dataset.name!r} has no centers")
        if S.KEY_MMD in wanted and "std" not in dataset.info:
            raise GansweepError(f"metric mmd needs a mixture data set (its kernels are sized in mode stds); "
                                f"{dataset.name!r} has no std")

        # (space, layer, artefact) needed from the real data
        self._prc_space, self._prc_layer = (
            (self.domain, RAW) if self.kind == S.POINTS else (self.inception, inc.POOL3)
        )
        needs: dict[FeatureSpace, dict[str, set[str]]] = {}

        def need(space: FeatureSpace | None, layer: str, artefact: str) -> None:
            assert space is not None
            needs.setdefault(space, {}).setdefault(layer, set()).add(artefact)

        if S.KEY_FD in wanted:
            need(self.domain, RAW if self.kind == S.POINTS else DIGITS_LAYER, STATS)
        if S.KEY_FID in wanted:
            need(self.inception, inc.POOL3, STATS)
        if S.KEY_KID in wanted:
            need(self.inception, inc.POOL3, FEATURES)
        if wanted & {S.KEY_PRECISION, S.KEY_RECALL}:
            need(self._prc_space, self._prc_layer, FEATURES)

        real = dataset.test[: min(self.samples, len(dataset.test))]
        self.reference_count = len(real)
        self.info["reference_count"] = len(real)
        self._reference: dict[tuple[str, str, str], Any] = {}
        if needs:
            digest = tensor_digest(real)
            for space, layers in needs.items():
                self._load_reference(space, layers, real, digest)
        self._gen_spaces = [s for s in (self.domain, self.inception) if s is not None]
        self._mmd = (KernelMMD(real.to(self.device), [w * float(dataset.info["std"]) for w in KERNEL_WIDTHS])
                     if S.KEY_MMD in wanted else None)

    # ---------------------------------------------------------------- reference statistics
    def reference_path(self, space: FeatureSpace, layer: str, artefact: str, count: int, digest: str) -> Path:
        """Content-addressed cache file of one reference artefact."""
        key = cache_key(
            kind="reference", format=REFERENCE_FORMAT, dataset=self.dataset.name,
            shape=list(self.dataset.test.shape[1:]), split=REFERENCE_SPLIT, count=count, data=digest,
            space=space.key, layer=layer, artefact=artefact,
        )
        return self.cache_dir / "reference" / f"{self.dataset.name}-{artefact}-{key}.pt"

    def _load_reference(self, space: FeatureSpace, layers: dict[str, set[str]], real: torch.Tensor,
                        digest: str) -> None:
        paths = {
            (layer, art): self.reference_path(space, layer, art, len(real), digest)
            for layer, arts in layers.items() for art in arts
        }
        computed: dict[str, torch.Tensor] = {}

        def features(layer: str) -> torch.Tensor:
            if not computed:
                t0 = time.perf_counter()
                computed.update(extract(space, batched(real, self.options.batch_size, self.device)))
                log.info("reference features of %s (%d samples, %s) in %.1fs", self.dataset.name,
                         len(real), space.key, time.perf_counter() - t0)
            return computed[layer]

        for (layer, art), path in paths.items():
            if art == STATS:
                fn = lambda layer=layer: dict(zip(("mu", "sigma"), gaussian_statistics(features(layer))))  # noqa: E731
            else:
                fn = lambda layer=layer: {"features": features(layer).contiguous()}  # noqa: E731
            blob = load_or_compute(path, lambda fn=fn: {k: v.cpu() for k, v in fn().items()})
            self._reference[(space.key, layer, art)] = {k: v.to(self.device) for k, v in blob.items()}

    def _ref(self, space: FeatureSpace, layer: str, artefact: str) -> dict[str, torch.Tensor]:
        return self._reference[(space.key, layer, artefact)]

    # ---------------------------------------------------------------- evaluation
    def __call__(self, trainer: Any) -> dict[str, float]:
        t0 = time.perf_counter()
        opts, wanted = self.options, set(self.names)
        keep = 0
        if S.KEY_MSSSIM in wanted:
            keep = 2 * min(opts.msssim_pairs, self.samples // 2)
        if self.kind == S.POINTS and wanted & (MIXTURE_KEYS | {S.KEY_MMD}):
            keep = self.samples
        parts: dict[tuple[str, str], list[torch.Tensor]] = {}
        kept: list[torch.Tensor] = []
        n_kept = 0
        with torch.no_grad():
            for start in range(0, self.samples, opts.batch_size):
                x = trainer.sample(min(opts.batch_size, self.samples - start)).detach().to(self.device)
                for space in self._gen_spaces:
                    for layer, f in space(x).items():
                        parts.setdefault((space.key, layer), []).append(f)
                if n_kept < keep:
                    kept.append(x[: keep - n_kept])
                    n_kept += len(kept[-1])
        gen = {k: torch.cat(v) for k, v in parts.items()}
        finite = {k: bool(torch.isfinite(v).all()) for k, v in gen.items()}
        out: dict[str, float] = {}
        nan = float("nan")

        def frechet(space: FeatureSpace, layer: str) -> float:
            if not finite[(space.key, layer)]:
                return nan
            ref = self._ref(space, layer, STATS)
            mu, sigma = gaussian_statistics(gen[(space.key, layer)])
            return frechet_distance(mu, sigma, ref["mu"], ref["sigma"])

        for name in self.names:
            if name == S.KEY_FD:
                out[S.KEY_FD] = frechet(self.domain, self.domain.layers[0])
            elif name == S.KEY_FID:
                out[S.KEY_FID] = frechet(self.inception, inc.POOL3)
            elif name == S.KEY_IS:
                key = (self.inception.key, inc.LOGITS)
                out[S.KEY_IS], out[S.KEY_IS_STD] = (
                    is_kid.inception_score(gen[key], opts.is_splits) if finite[key] else (nan, nan)
                )
            elif name == S.KEY_KID:
                out[S.KEY_KID], out[S.KEY_KID_STD] = self._kid(gen, finite)
            elif name in (S.KEY_PRECISION, S.KEY_RECALL) and S.KEY_PRECISION not in out:
                key = (self._prc_space.key, self._prc_layer)
                ref = self._ref(self._prc_space, self._prc_layer, FEATURES)["features"]
                p, r = prd.precision_recall(gen[key], ref, opts.prc_neighborhood) if finite[key] else (nan, nan)
                out[S.KEY_PRECISION], out[S.KEY_RECALL] = p, r
            elif name in MIXTURE_KEYS and S.KEY_MODES not in out:
                info = self.dataset.info
                counts, hq = mode_histogram(torch.cat(kept), info["centers"], float(info["std"]))
                out[S.KEY_MODES] = float((counts >= MODE_MIN_SAMPLES).sum())
                out[S.KEY_HQ], out[S.KEY_RKL] = hq, reverse_kl(counts)
            elif name == S.KEY_MMD:
                out[S.KEY_MMD] = self._mmd(torch.cat(kept))
            elif name == S.KEY_MSSSIM:
                g = torch.Generator().manual_seed(self.seed)
                out[S.KEY_MSSSIM] = msssim.mean_pairwise_msssim(torch.cat(kept), opts.msssim_pairs, g)
            elif name == S.KEY_RECON:
                out[S.KEY_RECON] = self._recon(trainer)
        result = {key: out[key] for key in S.result_keys(self.names)}
        log.debug("evaluated %s on %d samples in %.2fs", ", ".join(self.names), self.samples,
                  time.perf_counter() - t0)
        return result

    def _kid(self, gen: dict, finite: dict) -> tuple[float, float]:
        key = (self.inception.key, inc.POOL3)
        if not finite[key]:
            return math.nan, math.nan
        ref = self._ref(self.inception, inc.POOL3, FEATURES)["features"]
        size = min(self.options.kid_subset_size, len(gen[key]), len(ref))
        if size < self.options.kid_subset_size:
            log.info("kid subset size %d reduced to %d (sample count)", self.options.kid_subset_size, size)
        return is_kid.kernel_inception_distance(gen[key], ref, self.options.kid_subsets, size)

    def _recon(self, trainer: Any) -> float:
        if _is_conditional(trainer):
            log.warning("recon is defined for unconditional generators only; reporting NaN")
            return math.nan
        m = min(self.options.recon_images, len(self.dataset.test))
        targets = self.dataset.test[:m].to(self.device)
        z0 = trainer.draw_z(m).to(self.device)
        err = recon.reconstruction_error(trainer.generator, targets, z0, self.options.recon_steps,
                                         self.options.recon_lr)
        return err
