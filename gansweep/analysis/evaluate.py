"""Score the kept generators again: more samples, other metrics, after the study.

A search scores thousands of trials cheaply (e.g. FID on 5,000 samples); the numbers a paper
reports are the best models' scores on more samples (FID on 50,000) and on metrics the search did
not pay for (precision, recall, KID). ``gansweep evaluate`` runs the study's own evaluator on the
generator each chosen trial kept (:mod:`gansweep.store.generators`), against the study's data,
from the scored evaluation's random stream: with the study's sample count and metric it gives
back the stored score exactly, which is how a reader checks a result. It writes
``evaluations.csv`` (one row per trial) next to the plots and changes nothing in ``results/``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from gansweep.analysis.figures.common import write_output
from gansweep.analysis.loading import output_dir
from gansweep.analysis.samples import choose_trials, open_trained_study
from gansweep.store.studydir import EVALUATIONS_FILE, StudyDir
from gansweep.errors import GansweepError
from gansweep.storage import StoragePath, scratch_dir, stored_json

log = logging.getLogger(__name__)

MAX_SAMPLES = 1_000_000


def evaluate_study(study_dir: str | StoragePath, trial_ids: list[str] | None = None, top: int | None = None,
                   samples: int | None = None, metrics: list[str] | None = None, out: str | Path | None = None,
                   device: str = "cpu") -> tuple[pd.DataFrame, Path]:
    """Evaluate the chosen trials' kept generators; return the table and the CSV it was written to.

    Trials are chosen as by ``gansweep samples`` (default: the best trial of each cell, completed or stopped).
    ``samples`` defaults to the study's ``metrics.samples``, ``metrics`` to its primary and extra
    metrics. Data sets, resolution, data root, Inception weights and evaluator options are the
    study's own.
    """
    from gansweep.data import load_dataset
    from gansweep.metrics import Evaluator, check_metrics, default_primary, result_keys
    from gansweep.store.generators import load_generator
    from gansweep.study.plan import dataset_kind

    if samples is not None and not 2 <= samples <= MAX_SAMPLES:
        raise GansweepError(f"--samples {samples}: choose 2 to {MAX_SAMPLES:,}")
    path, trials = open_trained_study(study_dir, top, device, "there is nothing to evaluate")
    study, _ = StudyDir(path).load()  # validated: every default is the schema's own
    m = study.metrics
    chosen = choose_trials(trials, trial_ids, top)
    if chosen.empty:
        raise GansweepError(f"{path}: no completed trial yet")
    n = samples or m.samples
    weights = m.inception_weights
    names_for = {}
    for dataset in chosen["dataset"].unique():
        names = metrics or [m.primary or default_primary(dataset), *m.extra]
        try:
            check_metrics(names, dataset_kind(dataset), weights, dataset_name=dataset)
        except GansweepError as exc:
            raise GansweepError(f"--metric: {exc}") from None
        names_for[dataset] = list(dict.fromkeys(names))
    cache = scratch_dir(path, "cache")  # the study's own locally, each machine's disk for a bucket

    rows: list[dict[str, Any]] = []
    evaluators: dict[str, Any] = {}
    for row in chosen.itertuples(index=False):
        try:
            stored = load_generator(path, row.trial_id, device)
        except GansweepError as exc:  # as in `samples`: a named trial must have one, the others may not
            if trial_ids:
                raise
            log.warning("skipped: %s", exc)
            continue
        if row.dataset not in evaluators:
            data_set = load_dataset(row.dataset, resolution=study.training.resolution, root=study.data.root)
            evaluators[row.dataset] = Evaluator(data_set, names_for[row.dataset], n, device=device,
                                                cache_dir=cache, inception_weights=weights,
                                                options=m.options)
        evaluator = evaluators[row.dataset]
        evaluator.seed = _trial_seed(row)  # pair MS-SSIM samples as the trial's evaluations did (cheaper than
        # an evaluator per trial, which would load the feature networks again)
        stored.rewind()
        # a trial scores its generator as training left it, in train mode: recon runs it so (batch-norm
        # on batch statistics); sampling switches to eval mode itself. load_generator gives eval mode.
        stored.generator.train(True)
        t0 = time.perf_counter()
        values = evaluator(stored.sampler)
        rows.append({"trial_id": row.trial_id, "cell": row.cell, "strategy": row.strategy,
                     "stored_score": row.score, "step": stored.step, "samples": n,
                     **{k: values.get(k) for k in result_keys(names_for[row.dataset])},
                     "seconds": time.perf_counter() - t0})
        log.info("evaluated %s in %.1fs", row.trial_id, rows[-1]["seconds"])
    if not rows:
        raise GansweepError(f"{path}: none of the chosen trials kept a generator")
    frame = pd.DataFrame(rows)
    target = output_dir(path, out) / EVALUATIONS_FILE
    write_output(target, lambda f: frame.to_csv(f, index=False))
    return frame, target


def _trial_seed(row: Any) -> int:
    try:
        return int(stored_json(row.config)["seed"])
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError):  # OverflowError: a seed of 1e999
        return 0
