"""The confirmed table and verdicts with seed variance (docs/CONFIRM.md).

Why this module exists: the search's verdicts rest on one training run per configuration, scored
on the stream that chose its step. The confirmation stage (``results/confirm``) trains the search's
top configurations again with new seeds and scores each once on a fresh stream; this module turns
those rows into

- :func:`confirmed_table`: one row per confirmed configuration: its search score, its confirmed
  mean, standard deviation and standard error over seeds, diverged runs;
- :func:`cell_summary`: one row per cell: the search's choice (rank 1) confirmed, the cell's top
  configurations pooled (mean, seed standard deviation, bootstrap standard error), and whether the
  search's choice held up as the best of the cell's top configurations;
- :func:`confirmed_verdicts`: per pair of cells of one data set and strategy, P(a confirmation
  run of A beats one of B) (by default runs of the configuration each cell's search chose; with
  ``configs="top"`` runs of the cells' top configurations, each configuration weighing the same;
  ties and two diverged runs count one half), its percentile interval from a bootstrap over seeds
  (``top``: two-level, configurations with replacement, then each one's seeds, seeded), and
  "not resolved with these seeds — about N more per configuration would resolve it" (the interval
  assumed to shrink as 1/sqrt(seeds));
- :func:`held_up`: per data set and strategy, the search's winning cell and whether it held up.

Scores are lower-is-better; a diverged or failed confirmation run counts as +inf in a verdict
(it lost) and is left out of means (counted in ``diverged``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gansweep.analysis.verdicts import A_BETTER, B_BETTER
from gansweep.analysis.verdicts import resolution as _resolution
from gansweep.status import SCORED

RESAMPLES = 1000
LEVEL = 0.95
KEYS = ["dataset", "strategy", "cell"]


def runs(rows: pd.DataFrame) -> pd.DataFrame:
    """Confirmation rows with ``value``: the score of a scored run, +inf for a diverged or failed one."""
    if rows.empty:
        return rows.assign(value=pd.Series(dtype=float))
    score = pd.to_numeric(rows["score"], errors="coerce").astype(float)
    ok = rows["status"].isin(SCORED) & np.isfinite(score)
    return rows.assign(value=score.where(ok, math.inf))


def confirmed_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per confirmed configuration (search trial), best search rank first within a cell."""
    cols = [*KEYS, "confirms", "rank", "search_score", "seeds", "diverged", "mean", "std", "se", "lo", "hi",
            "samples"]
    r = runs(rows)
    if r.empty:
        return pd.DataFrame(columns=cols)
    out = []
    for (ds, strat, cell, tid), g in r.groupby([*KEYS, "confirms"], sort=True):
        v = g["value"].to_numpy()
        fin = v[np.isfinite(v)]
        mean = float(fin.mean()) if fin.size else math.nan
        std = float(fin.std(ddof=1)) if fin.size > 1 else math.nan
        se = std / math.sqrt(fin.size) if fin.size > 1 else math.nan
        out.append({"dataset": ds, "strategy": strat, "cell": cell, "confirms": tid, "rank": int(g["rank"].iloc[0]),
                    "search_score": float(g["search_score"].iloc[0]), "seeds": len(v),
                    "diverged": int((~np.isfinite(v)).sum()), "mean": mean, "std": std, "se": se,
                    "lo": mean - 1.96 * se, "hi": mean + 1.96 * se,
                    "samples": int(g["samples"].iloc[0]) if "samples" in g else math.nan})
    return pd.DataFrame(out, columns=cols).sort_values([*KEYS, "rank"], ignore_index=True)


def _cell_runs(g: pd.DataFrame) -> list[np.ndarray]:
    """A cell's runs, one array of values per configuration (by search rank)."""
    return [c["value"].to_numpy(dtype=float) for _, c in g.sort_values(["rank", "seed_index"]).groupby("rank")]


def _resample(configs: list[np.ndarray], resamples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two-level bootstrap of a cell: ``(values, weights)``, each ``(resamples + 1) x runs``; row 0 is
    the cell as stored. Configurations are drawn with replacement, then each drawn configuration's
    seeds with replacement; every configuration weighs the same, its runs share its weight."""
    m = len(configs)
    size = max(len(c) for c in configs)
    vals = np.full((resamples + 1, m * size), np.inf)
    wts = np.zeros((resamples + 1, m * size))
    for i, c in enumerate(configs):  # row 0: the stored runs
        vals[0, i * size:i * size + len(c)] = c
        wts[0, i * size:i * size + len(c)] = 1.0 / (m * len(c))
    if resamples:
        picks = rng.integers(0, m, size=(resamples, m))
        for slot in range(m):
            for j in range(m):
                rows = np.flatnonzero(picks[:, slot] == j)
                if not rows.size:
                    continue
                c = configs[j]
                draws = c[rng.integers(0, len(c), size=(rows.size, len(c)))]
                vals[1 + rows, slot * size:slot * size + len(c)] = draws
                wts[1 + rows, slot * size:slot * size + len(c)] = 1.0 / (m * len(c))
    return vals, wts


def _p_beats(va: np.ndarray, wa: np.ndarray, vb: np.ndarray, wb: np.ndarray) -> np.ndarray:
    """Per row, P(a weighted run of A is lower than one of B), ties one half."""
    lt = (va[:, :, None] < vb[:, None, :]).astype(float)
    eq = (va[:, :, None] == vb[:, None, :]).astype(float)
    w = wa[:, :, None] * wb[:, None, :]
    return ((lt + 0.5 * eq) * w).sum(axis=(1, 2))


def _weighted_mean(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per row, the mean of the finite runs (weights renormalised); NaN when none is finite."""
    fin = np.isfinite(v)
    ww = np.where(fin, w, 0.0)
    tot = ww.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (np.where(fin, v, 0.0) * ww).sum(axis=1) / tot, np.nan)


CONFIGS = ("choice", "top")


def _resampled_cells(rows: pd.DataFrame, resamples: int, seed: int, configs: str = "top") -> dict[tuple[str, str, str], tuple]:
    """Per cell, its bootstrap (:func:`_resample`): of the search's choice alone (``choice``: seeds
    resampled) or of its top configurations (``top``: configurations, then seeds)."""
    if configs not in CONFIGS:
        raise ValueError(f"configs must be one of {', '.join(CONFIGS)}, not {configs!r}")
    r = runs(rows)
    if configs == "choice" and not r.empty:
        r = r[r["rank"] == r.groupby(KEYS)["rank"].transform("min")]
    rng = np.random.default_rng(seed)
    return {key: _resample(_cell_runs(g), resamples, rng) for key, g in r.groupby(KEYS, sort=True)}


def cell_summary(rows: pd.DataFrame, resamples: int = RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """One row per cell: the search's choice confirmed and the cell's top configurations pooled."""
    cols = [*KEYS, "configs", "runs", "diverged", "search_best", "choice", "choice_mean", "choice_se",
            "choice_seed_std", "top_mean", "top_se", "seed_std", "choice_held"]
    table = confirmed_table(rows)
    if table.empty:
        return pd.DataFrame(columns=cols)
    cells = _resampled_cells(rows, resamples, seed, "top")
    out = []
    for key, g in table.groupby(KEYS, sort=True):
        vals, wts = cells[key]
        means = _weighted_mean(vals, wts)
        first = g.sort_values("rank").iloc[0]
        finite_means = g["mean"].dropna()
        held = bool(len(g) > 1 and finite_means.size and math.isclose(first["mean"], finite_means.min())) \
            if len(g) > 1 else None
        # the seed standard deviation pooled over the cell's configurations (within-configuration spread)
        var = [(s ** 2, n - 1) for s, n in zip(g["std"], g["seeds"] - g["diverged"]) if n > 1 and s == s]
        seed_std = math.sqrt(sum(v * d for v, d in var) / sum(d for _, d in var)) if var else math.nan
        out.append(dict(zip(KEYS, key)) | {
            "configs": len(g), "runs": int(g["seeds"].sum()), "diverged": int(g["diverged"].sum()),
            "search_best": float(first["search_score"]), "choice": first["confirms"],
            "choice_mean": float(first["mean"]), "choice_se": float(first["se"]), "choice_seed_std": float(first["std"]),
            "top_mean": float(means[0]), "top_se": float(np.nanstd(means[1:], ddof=1)) if resamples > 1 else math.nan,
            "seed_std": seed_std, "choice_held": held})
    return pd.DataFrame(out, columns=cols)


def _verdict(p: float, lo: float, hi: float, seeds: int) -> tuple[str, float]:
    label, more = _resolution(p, lo, hi, seeds)
    return label or f"not resolved with {seeds} seeds", more


VERDICT_COLUMNS = ["dataset", "strategy", "cell_a", "cell_b", "configs_a", "configs_b", "seeds", "mean_a",
                   "mean_b", "p_a_beats_b", "lo", "hi", "verdict", "more_seeds", "resolution"]


def confirmed_verdicts(rows: pd.DataFrame, resamples: int = RESAMPLES, seed: int = 0,
                       level: float = LEVEL, configs: str = "choice") -> pd.DataFrame:
    """Every pair of cells of one data set and strategy (cell_a < cell_b by name); see the module doc.

    ``configs="choice"`` (the default) compares the configuration each cell's search chose (its
    rank 1), resampling its seeds: "retrained, does A's choice beat B's?". ``"top"`` pools each
    cell's confirmed configurations, resampling configurations and then seeds."""
    if rows.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    cells = _resampled_cells(rows, resamples, seed, configs)
    r = runs(rows)
    if configs == "choice":
        r = r[r["rank"] == r.groupby(KEYS)["rank"].transform("min")]
    seeds = r.groupby(KEYS)["confirms"].value_counts().groupby(KEYS).min()  # fewest seeds of a configuration
    configs = r.groupby(KEYS)["confirms"].nunique()
    q = [(1 - level) / 2, (1 + level) / 2]
    out = []
    for (ds, strat), _ in r.groupby(["dataset", "strategy"], sort=True):
        names = sorted(c for (d, s, c) in cells if (d, s) == (ds, strat))
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                (va, wa), (vb, wb) = cells[(ds, strat, a)], cells[(ds, strat, b)]
                p = _p_beats(va, wa, vb, wb)
                lo, hi = (float(x) for x in np.quantile(p[1:], q))
                est = float(p[0])
                lo, hi = min(lo, est), max(hi, est)
                n = int(min(seeds[(ds, strat, a)], seeds[(ds, strat, b)]))
                verdict, more = _verdict(est, lo, hi, n)
                resolution = ("resolved" if verdict in (A_BETTER, B_BETTER) else
                              f"{verdict} — about {int(more)} more seed{'s' if more > 1 else ''} would resolve it"
                              if more == more else f"{verdict}: the two cells are even")
                out.append({"dataset": ds, "strategy": strat, "cell_a": a, "cell_b": b,
                            "configs_a": configs[(ds, strat, a)], "configs_b": configs[(ds, strat, b)],
                            "seeds": n, "mean_a": float(_weighted_mean(va[:1], wa[:1])[0]),
                            "mean_b": float(_weighted_mean(vb[:1], wb[:1])[0]), "p_a_beats_b": est, "lo": lo,
                            "hi": hi, "verdict": verdict, "more_seeds": more, "resolution": resolution})
    return pd.DataFrame(out, columns=VERDICT_COLUMNS)


def search_winners(trials: pd.DataFrame) -> pd.DataFrame:
    """Per data set and strategy, the cell with the best search score (the search ranking's k = N winner)."""
    t = trials[trials["status"].isin(SCORED)].copy()
    t["score"] = pd.to_numeric(t["score"], errors="coerce")
    t = t[np.isfinite(t["score"])]
    if t.empty:
        return pd.DataFrame(columns=["dataset", "strategy", "cell", "search_best"])
    best = t.sort_values(["score", "trial_id"]).groupby(["dataset", "strategy"], sort=True).head(1)
    return best.rename(columns={"score": "search_best"})[["dataset", "strategy", "cell", "search_best"]] \
        .reset_index(drop=True)


def held_up(trials: pd.DataFrame, summary: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per data set and strategy: the search's winning cell, the confirmed best (lowest confirmed mean
    of the search's choice), whether the search winner held up, and a sentence saying so.

    It held up when it is the confirmed best, or no cell beats it with the whole interval above one
    half ("held within the seed noise"); it did not when some cell does."""
    cols = ["dataset", "strategy", "search_winner", "confirmed_best", "held", "sentence"]
    winners = search_winners(trials)
    out = []
    for w in winners.itertuples(index=False):
        s = summary[(summary.dataset == w.dataset) & (summary.strategy == w.strategy)]
        if s.empty or w.cell not in set(s.cell):
            continue
        best = s.sort_values(["choice_mean", "cell"]).iloc[0]["cell"]
        v = verdicts[(verdicts.dataset == w.dataset) & (verdicts.strategy == w.strategy)]
        beaten = [(r.cell_b if r.cell_a == w.cell else r.cell_a, r) for r in v.itertuples(index=False)
                  if (r.cell_a == w.cell and r.verdict == B_BETTER) or (r.cell_b == w.cell and r.verdict == A_BETTER)]
        if best == w.cell:
            held, sentence = "yes", f"{w.cell}, the search's winner, is also best under confirmation"
        elif not beaten:
            held, sentence = "within the noise", (f"{w.cell}, the search's winner, is not the confirmed best "
                                                 f"({best} is), but no cell beats it with these seeds")
        else:
            other, r = beaten[0]
            p = r.p_a_beats_b if r.cell_a == other else 1 - r.p_a_beats_b
            lo, hi = (r.lo, r.hi) if r.cell_a == other else (1 - r.hi, 1 - r.lo)
            held, sentence = "no", (f"{w.cell}, the search's winner, did not hold up: {other} beats it under "
                                    f"confirmation with probability {p:.2f} ({lo:.2f}–{hi:.2f})")
        out.append({"dataset": w.dataset, "strategy": w.strategy, "search_winner": w.cell, "confirmed_best": best,
                    "held": held, "sentence": sentence})
    return pd.DataFrame(out, columns=cols)


def read_confirmed(study_dir) -> pd.DataFrame:
    """The confirmation rows of a study directory (``results/confirm``; empty when none)."""
    from gansweep.store.confirm import read_confirm

    return read_confirm(study_dir)


__all__: Sequence[str] = ["cell_summary", "confirmed_table", "confirmed_verdicts", "held_up", "read_confirmed",
                          "runs", "search_winners"]
