"""An independent check of gansweep.analysis.verdicts.p_beats: brute force with NaN scores and ties."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from gansweep.analysis.verdicts import p_beats


def brute(a, b, k):
    """All (k-subset of a, k-subset of b) pairs; NaN = +inf (nothing found); ties count half."""
    a = [np.inf if np.isnan(x) else x for x in a]
    b = [np.inf if np.isnan(x) else x for x in b]
    wins = total = 0.0
    for sa in combinations(a, k):
        for sb in combinations(b, k):
            x, y = min(sa), min(sb)
            wins += 1.0 if x < y else 0.5 if x == y else 0.0
            total += 1
    return wins / total


@pytest.mark.parametrize("seed", range(4))
def test_p_beats_with_nan_scores_equals_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    a = rng.integers(0, 4, rng.integers(3, 7)).astype(float)
    b = rng.integers(0, 4, rng.integers(3, 7)).astype(float)
    a[rng.random(len(a)) < 0.25] = np.nan
    b[rng.random(len(b)) < 0.25] = np.nan
    for k in range(1, min(len(a), len(b)) + 1):
        assert p_beats(a, b, k) == pytest.approx(brute(a, b, k), abs=1e-12)
