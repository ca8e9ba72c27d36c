"""Verdicts: exact P(A beats B at k) against brute force, bootstrap coverage, the table's shape."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from gansweep.analysis.verdicts import VERDICT_COLUMNS, p_beats, verdicts


def brute(a, b, k):
    """Average over all k-subsets of a and of b of win (1), tie (1/2) or loss (0); NaN = +inf."""
    a = [np.inf if np.isnan(x) else x for x in a]
    b = [np.inf if np.isnan(x) else x for x in b]
    wins = total = 0.0
    for sa in itertools.combinations(a, k):
        for sb in itertools.combinations(b, k):
            ma, mb = min(sa), min(sb)
            wins += 1.0 if ma < mb else 0.5 if ma == mb else 0.0
            total += 1
    return wins / total


@pytest.mark.parametrize("seed", range(12))
def test_exact_probability_matches_brute_force_over_all_k_subsets(seed):
    rng = np.random.default_rng(seed)
    na, nb = rng.integers(1, 7, size=2)
    # few distinct values so ties (within and across cells) and failures (NaN) are common
    a = rng.choice([0.1, 0.2, 0.3, 0.5, np.nan], size=na)
    b = rng.choice([0.1, 0.2, 0.4, 0.5, np.nan], size=nb)
    for k in range(1, min(na, nb) + 1):
        assert p_beats(a, b, k) == pytest.approx(brute(a, b, k), abs=1e-12)
        assert p_beats(a, b, k) + p_beats(b, a, k) == pytest.approx(1.0, abs=1e-12)


def test_higher_is_better_flips_the_comparison():
    a, b = [3.0, 5.0, 1.0], [4.0, 2.0, 2.5]
    for k in (1, 2, 3):
        assert p_beats(a, b, k, higher_is_better=True) == pytest.approx(brute([-x for x in a], [-x for x in b], k))


def test_all_failed_is_a_coin_and_failures_lose():
    assert p_beats([np.nan, np.nan], [np.nan, np.nan], 1) == 0.5
    assert p_beats([1.0, np.nan], [np.nan, np.nan], 2) == 1.0
    assert p_beats([1.0, np.nan], [np.nan, np.nan], 1) == 0.75


def frame(cells: dict[str, np.ndarray], dataset="ring8", strategy="random") -> pd.DataFrame:
    rows = [{"dataset": dataset, "strategy": strategy, "cell": c, "score": float(s),
             "status": "completed" if np.isfinite(s) else "diverged"}
            for c, scores in cells.items() for s in scores]
    return pd.DataFrame(rows)


def test_interval_covers_the_true_probability_about_95_percent_of_the_time():
    # Exponential scores: the best of k from Exp(rate) is Exp(k * rate), so the truth is
    # P(A beats B at k) = rate_a / (rate_a + rate_b) at every k.
    rate_a, rate_b, n, truth = 1.5, 1.0, 40, 1.5 / 2.5
    hits = {1: 0, 2: 0}
    seeds = 200
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        t = frame({"a": rng.exponential(1 / rate_a, n), "b": rng.exponential(1 / rate_b, n)})
        v = verdicts(t, budgets=[1, 2], resamples=1000, seed=seed).set_index("k")
        for k in hits:
            hits[k] += v.loc[k, "lo"] <= truth <= v.loc[k, "hi"]
    for k, h in hits.items():
        assert 0.89 <= h / seeds <= 0.99, (k, h / seeds)


def test_verdict_table_columns_and_decisions():
    rng = np.random.default_rng(0)
    cells = {"good": rng.normal(0, 0.1, 30), "bad": rng.normal(5, 0.1, 30),
             "twin": rng.normal(0, 0.1, 30)}
    v = verdicts(frame(cells), seed=1)
    assert list(v.columns) == VERDICT_COLUMNS
    assert sorted(set(v["k"])) == [1, 2, 5, 10, 20, 30]
    pair = v[(v.cell_a == "bad") & (v.cell_b == "good")]
    assert (pair["verdict"] == "B better").all()
    assert (pair["p_a_beats_b"] < 0.01).all()
    twin = v[(v.cell_a == "good") & (v.cell_b == "twin") & (v.k == 1)].iloc[0]
    assert twin["verdict"] == "not resolved by 30 trials"
    assert twin["more_trials_per_cell"] >= 1 or np.isnan(twin["more_trials_per_cell"])
    # seeded: the same seed gives the same intervals
    assert v.equals(verdicts(frame(cells), seed=1))


def test_pairs_only_within_one_dataset_and_strategy():
    t = pd.concat([frame({"x": [1, 2], "y": [3, 4]}, dataset="d1"),
                   frame({"x": [1, 2]}, dataset="d2")])
    v = verdicts(t, resamples=10)
    assert set(v["dataset"]) == {"d1"}
    assert v[v.k == 2].iloc[0]["p_a_beats_b"] == 1.0
