"""The analysis takes its facts from the registries (metrics, strategies, axes), not from copies."""

from __future__ import annotations

import pandas as pd

from gansweep.analysis import budget, loading
from gansweep.metrics.specs import METRICS
from gansweep.search.specs import SEQUENTIAL_STRATEGIES
from gansweep.study.schema import AXES


def test_the_primary_metric_is_each_data_sets_default_and_never_guessed_from_columns() -> None:
    """A digits + cifar10 study without ``metrics.primary`` used to label every panel FD (the guess
    ``"fd" if "fd" in trials``): its score is fd on digits and fid on cifar10."""
    mixed = pd.DataFrame({"dataset": ["digits", "cifar10"], "fd": [1.0, float("nan")]})
    assert loading._default_primary(mixed) == "score"
    assert loading._default_primary(pd.DataFrame({"dataset": ["cifar10"], "fd": [1.0]})) == "fid"
    assert loading._default_primary(pd.DataFrame({"dataset": ["ring8", "grid25"]})) == "mmd"
    assert loading._default_primary(pd.DataFrame({"dataset": ["digits"]})) == "fd"
    assert loading._default_primary(pd.DataFrame({"dataset": ["ring8", "digits"]})) == "score"  # mmd beside fd


def test_directions_labels_and_axes_come_from_the_registries() -> None:
    assert not hasattr(budget, "HIGHER_IS_BETTER") and not hasattr(loading, "METRIC_LABELS")
    higher = {name for name, spec in METRICS.items() if spec.higher_is_better}
    frame = pd.DataFrame({m: [1.0, 2.0] for m in METRICS.names()} | {"status": ["completed"] * 2})
    for name in METRICS.names():
        values, is_higher = budget._metric_values(frame, name)
        assert is_higher == (name in higher), name
    assert loading.AXES is AXES  # the axis registry's names, not a copy
    assert set(SEQUENTIAL_STRATEGIES) == {"gp", "optuna"}


def test_the_analysis_leaves_matplotlibs_backend_and_pyplot_alone() -> None:
    """plots.py called ``matplotlib.use("Agg")`` at import: a notebook's backend changed under its
    user. Figures are drawn on matplotlib's object API, so pyplot is never imported."""
    import subprocess
    import sys

    code = ("import matplotlib; matplotlib.use('svg'); import gansweep.analysis.report, gansweep.analysis.samples;"
            "import sys; print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["svg", "False"]
