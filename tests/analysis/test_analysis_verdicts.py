"""Verdicts between cells: exact probability against brute force, interval coverage, the table."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from gansweep.analysis.verdicts import VERDICT_COLUMNS, compare_cells, p_beats, sentence, verdicts


def brute(a, b, k):
    """Fraction of all (k-subset of a, k-subset of b) pairs whose best of a is lower; ties half."""
    total = wins = 0.0
    for sa in combinations(a, k):
        for sb in combinations(b, k):
            x, y = min(sa), min(sb)
            wins += 1.0 if x < y else 0.5 if x == y else 0.0
            total += 1
    return wins / total


@pytest.mark.parametrize("seed", range(6))
def test_exact_probability_equals_brute_force_over_all_k_subsets(seed):
    rng = np.random.default_rng(seed)
    # small integer scores give ties within and across cells; some trials diverged (+inf)
    a = rng.integers(0, 5, rng.integers(3, 8)).astype(float)
    b = rng.integers(0, 5, rng.integers(3, 8)).astype(float)
    a[rng.random(len(a)) < 0.2] = np.inf
    b[rng.random(len(b)) < 0.2] = np.inf
    for k in range(1, min(len(a), len(b)) + 1):
        assert p_beats(a, b, k) == pytest.approx(brute(list(a), list(b), k), abs=1e-12)
        assert p_beats(a, b, k) + p_beats(b, a, k) == pytest.approx(1.0, abs=1e-12)


def test_nan_counts_as_nothing_found_like_inf():
    a = [1.0, np.nan, 3.0]
    assert p_beats(a, [2.0, 2.5, 4.0], 2) == p_beats([1.0, np.inf, 3.0], [2.0, 2.5, 4.0], 2)
    assert p_beats([np.inf] * 3, [np.inf] * 3, 2) == 0.5


def true_p(shift: float, k: int) -> float:
    """P(min of k N(0,1) < min of k N(shift,1)) by quadrature (the population truth)."""
    def f(x):
        pdf_min_a = k * stats.norm.pdf(x) * stats.norm.sf(x) ** (k - 1)
        return pdf_min_a * stats.norm.sf(x - shift) ** k
    return integrate.quad(f, -np.inf, np.inf)[0]


@pytest.mark.parametrize("k", [1, 3])
def test_interval_covers_the_truth_about_95_percent(k):
    shift, n, seeds = 0.4, 60, 150
    truth = true_p(shift, k)
    hits = 0
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        cells = {"A": rng.normal(0, 1, n), "B": rng.normal(shift, 1, n)}
        row = compare_cells(cells, [k], seed=seed, resamples=1000).iloc[0]
        hits += row["lo"] <= truth <= row["hi"]
    # binomial(150, 0.95) lies in [0.90, 0.99] with probability > 0.99
    assert 0.88 <= hits / seeds <= 0.99, (hits, seeds, truth)


def test_verdicts_table_per_dataset_and_strategy_with_failures_as_inf():
    rng = np.random.default_rng(3)
    rows = []
    for ds in ("ring8", "digits"):
        for cell, loc in (("good", 0.0), ("bad", 3.0), ("same", 0.0)):
            for i in range(30):
                rows.append({"dataset": ds, "strategy": "random", "cell": f"{ds}/{cell}",
                             "status": "diverged" if i < 2 else "completed",
                             "score": rng.normal(loc, 1.0) if i >= 2 else np.nan})
    trials = pd.DataFrame(rows)
    out = verdicts(trials, resamples=1000, seed=1)
    assert list(out.columns) == VERDICT_COLUMNS
    assert set(out["dataset"]) == {"ring8", "digits"}
    assert sorted(out["k"].unique()) == [1, 2, 4, 8, 16, 30]
    k1 = out[(out.k == 1) & (out.dataset == "ring8")].set_index(["cell_a", "cell_b"])
    assert k1.loc[("ring8/bad", "ring8/good"), "verdict"] == "B better"
    assert k1.loc[("ring8/bad", "ring8/same"), "verdict"] == "B better"
    # the same as computing it directly, with failures as +inf
    t = trials[trials.dataset == "ring8"]
    vals = {c: np.where(g.status == "completed", g.score, np.inf) for c, g in t.groupby("cell")}
    assert k1.loc[("ring8/good", "ring8/same"), "p_a_beats_b"] == pytest.approx(
        p_beats(vals["ring8/good"], vals["ring8/same"], 1))
    assert (out["lo"] <= out["p_a_beats_b"] + 1e-12).all() and (out["p_a_beats_b"] <= out["hi"] + 1e-12).all()
    same = k1.loc[("ring8/good", "ring8/same")]
    if same["verdict"].startswith("not resolved"):
        assert same["verdict"] == "not resolved by 30 trials"
        assert same["more_trials_per_cell"] >= 1 or np.isnan(same["more_trials_per_cell"])
    text = sentence({**k1.loc[("ring8/bad", "ring8/good")].to_dict(),
                     "cell_a": "ring8/bad", "cell_b": "ring8/good"})
    assert text.startswith("ring8/good beats ring8/bad at k = 1 with probability")


def test_seeded_resamples_are_reproducible_and_seed_dependent():
    rng = np.random.default_rng(0)
    cells = {"a": rng.normal(0, 1, 20), "b": rng.normal(0.2, 1, 20)}
    one = compare_cells(cells, [2], seed=5)
    assert one.equals(compare_cells(cells, [2], seed=5))
    assert not one[["lo", "hi"]].equals(compare_cells(cells, [2], seed=6)[["lo", "hi"]])
