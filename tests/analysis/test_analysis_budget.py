"""Budget curves against brute-force enumeration of every k-subset, in exact arithmetic."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from gansweep.analysis.budget import budget_curve, budget_curves, running_best

INF = math.inf


def brute_force(scores: list[float]) -> pd.DataFrame:
    """Every k-subset enumerated; probabilities as exact fractions."""
    scores = [INF if (s is None or (isinstance(s, float) and math.isnan(s))) else s for s in scores]
    n = len(scores)
    rows = []
    for k in range(1, n + 1):
        bests = [min(c) for c in itertools.combinations(scores, k)]
        total = len(bests)
        support = sorted(set(bests))
        cdf = {x: Fraction(sum(b <= x for b in bests), total) for x in support}

        def quantile(q: Fraction) -> float:
            return next(x for x in support if cdf[x] >= q)

        mean = math.nan if INF in bests else float(sum(Fraction(b) for b in bests) / total)
        rows.append({"budget": k, "median": quantile(Fraction(1, 2)),
                     "lo": quantile(Fraction(1, 40)), "hi": quantile(Fraction(39, 40)),
                     "mean": mean})
    return pd.DataFrame(rows)


CASES = {
    "distinct": [5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 7.0],
    "ties": [2.0, 1.0, 2.0, 2.0, 1.0, 3.0, 3.0, 1.0, 5.0],
    "inf": [3.0, INF, 1.0, INF, 2.0, 4.0, INF, 0.5],
    "nan_is_inf": [3.0, math.nan, 1.0, 2.0, math.nan, math.nan],
    "ties_and_inf": [1.0, 1.0, INF, 2.0, 2.0, INF, INF, INF, 0.0, 0.0, 7.0],
    "mostly_inf": [INF, INF, INF, INF, INF, 10.0, INF, INF, INF, INF],
    "all_inf": [INF, INF, INF],
    "pair": [1.0, 2.0],  # P(best <= x_(1)) = 1/2 exactly at k = 1: median is x_(1)
    "large_exact_ties": [float(i % 4) for i in range(14)],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_brute_force(name: str) -> None:
    scores = CASES[name]
    got = budget_curve(scores)
    want = brute_force(scores)
    assert list(got.columns) == ["budget", "median", "lo", "hi", "mean"]
    assert got["budget"].tolist() == want["budget"].tolist()
    for col in ("median", "lo", "hi"):
        assert got[col].tolist() == want[col].tolist(), col
    np.testing.assert_allclose(got["mean"], want["mean"], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", range(6))
def test_random_small_sets_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    scores = rng.integers(0, 6, n).astype(float)  # many ties
    scores[rng.random(n) < 0.25] = INF
    got = budget_curve(scores)
    want = brute_force(scores.tolist())
    for col in ("median", "lo", "hi"):
        assert got[col].tolist() == want[col].tolist(), col
    np.testing.assert_allclose(got["mean"], want["mean"], rtol=1e-12, equal_nan=True)


def test_single_trial() -> None:
    got = budget_curve([4.5])
    assert got.to_dict("records") == [{"budget": 1, "median": 4.5, "lo": 4.5, "hi": 4.5, "mean": 4.5}]
    diverged = budget_curve([math.nan])
    assert diverged["median"].tolist() == [INF] and math.isnan(diverged["mean"][0])


def test_empty() -> None:
    assert budget_curve([]).empty


def test_monotone_in_budget_and_ordered() -> None:
    rng = np.random.default_rng(1)
    scores = rng.lognormal(3, 1, 400)
    scores[rng.random(400) < 0.1] = INF
    c = budget_curve(scores)
    for col in ("median", "lo", "hi"):
        assert (np.diff(c[col].to_numpy()) <= 0).all(), col
    finite = c["mean"].dropna().to_numpy()
    assert (np.diff(finite) <= 1e-9 * finite[:-1]).all()
    assert (c["lo"] <= c["median"]).all() and (c["median"] <= c["hi"]).all()
    assert c["mean"].isna().sum() == 0 or c.loc[c["mean"].isna(), "budget"].max() <= (scores == INF).sum()
    assert c["median"].iloc[-1] == scores.min()


def test_mean_nan_exactly_while_inf_possible() -> None:
    scores = [1.0, 2.0, INF, INF, INF, 3.0]
    c = budget_curve(scores)
    assert c["mean"].isna().tolist() == [True, True, True, False, False, False]


def test_higher_is_better_mirrors() -> None:
    scores = np.array([1.0, 5.0, 3.0, 3.0, 8.0, math.nan])
    up = budget_curve(scores, higher_is_better=True)
    down = budget_curve(-scores)
    np.testing.assert_array_equal(up["median"], -down["median"])
    np.testing.assert_array_equal(up["lo"], -down["hi"])
    np.testing.assert_array_equal(up["hi"], -down["lo"])
    assert up["median"].iloc[-1] == 8.0


def test_large_n_is_fast_and_sane() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(50, 10, 20_000)
    c = budget_curve(scores)
    assert len(c) == 20_000
    # best of all is the minimum; the mean of k=1 is the sample mean
    assert c["median"].iloc[-1] == scores.min()
    assert c["mean"].iloc[0] == pytest.approx(scores.mean(), rel=1e-10)
    assert c["mean"].iloc[-1] == pytest.approx(scores.min(), rel=1e-10)


def _trials() -> pd.DataFrame:
    rows = []
    for cell, strat, vals in [("a.x", "random", [3.0, 1.0, 2.0]), ("a.x", "gp", [5.0, 4.0, 0.5, 6.0]),
                              ("b.y", "random", [2.0, math.nan])]:
        for i, v in enumerate(vals):
            rows.append({"trial_id": f"{cell}-{strat}-{i:04d}", "cell": cell, "strategy": strat,
                         "index": i, "status": "completed" if not math.isnan(v) else "diverged",
                         "score": v, "is": -v})
    return pd.DataFrame(rows)


def test_budget_curves_groups_and_statuses() -> None:
    t = _trials()
    t.loc[0, "status"] = "failed"  # a failed trial's score is ignored
    c = budget_curves(t)
    # the columns plots/budget_curves.csv holds
    assert list(c.columns) == ["cell", "strategy", "budget", "median", "lo", "hi", "mean", "running_best", "metric"]
    assert len(c) == 9 and set(c["metric"]) == {"score"}
    gp = c[(c.cell == "a.x") & (c.strategy == "gp")]  # a sequential strategy: best of its first k, by index
    rb = running_best(t)
    assert gp["running_best"].tolist() == rb[rb.cell == "a.x"]["running_best"].tolist()
    assert c[c.strategy != "gp"]["running_best"].isna().all()
    for (cell, strat), g in c.groupby(["cell", "strategy"]):
        sub = t[(t.cell == cell) & (t.strategy == strat)]
        vals = np.where(sub.status == "completed", sub.score, INF)
        want = budget_curve(vals)
        np.testing.assert_array_equal(g[["median", "lo", "hi"]].to_numpy(), want[["median", "lo", "hi"]].to_numpy())
    hb = budget_curves(t, metric="is")
    assert hb.groupby(["cell", "strategy"])["median"].last().loc[("a.x", "gp")] == -0.5
    with pytest.raises(KeyError):
        budget_curves(t, metric="nope")


def test_running_best_follows_index() -> None:
    t = _trials().sample(frac=1.0, random_state=3)
    rb = running_best(t)
    assert set(rb["strategy"]) == {"gp"}
    assert rb["running_best"].tolist() == [5.0, 4.0, 0.5, 0.5]
    assert rb["budget"].tolist() == [1, 2, 3, 4]
    allrb = running_best(t, strategies=None)
    b = allrb[allrb.cell == "b.y"]["running_best"].tolist()
    assert b == [2.0, 2.0]
