"""plot_study on the synthetic stored study: files, CSV columns, partial results, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_study import HPS

from gansweep.analysis.budget import budget_curve
from gansweep.analysis.loading import load_study
from gansweep.analysis.plots import PLOTS, plot_study
from gansweep.errors import GansweepError, NotAStudyError

AXES = ["dataset", "architecture", "loss", "penalty", "normalization"]
CSV_COLUMNS = {
    "budget_curves": ["cell", *AXES, "strategy", "budget", "median", "lo", "hi", "mean"],
    "distributions": ["cell", *AXES, "subset", "n", "trials", "diverged", "failed",
                      "min", "q1", "median", "q3", "max", "mean"],
    "score_vs_compute": ["cell", *AXES, "strategy", "trial_id", "status", "index", "gpu_hours", "unit",
                         "score", "cumulative_gpu_hours", "best_so_far"],
    "sensitivity": ["cell", *AXES, "strategy", "trial_id", "status", "hp", "value", "score", "log_x", "kind"],
    "learning_curves": ["cell", *AXES, "strategy", "trial_id", "rank", "step", "seconds", "value"],
}


def csv(study: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(study / "plots" / f"{name}.csv")


@pytest.mark.parametrize("name", PLOTS)
def test_every_plot_written_with_its_data(reported_study: Path, name: str) -> None:
    png = reported_study / "plots" / f"{name}.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    name = {"budget_curves_by_cell": "budget_curves"}.get(name, name)  # one CSV for both budget figures
    data = csv(reported_study, name)
    want = CSV_COLUMNS[name]
    assert list(data.columns[:len(want)]) == want
    assert data["cell"].nunique() == 8
    assert not [p for p in (reported_study / "plots").iterdir() if p.name.startswith(".")]


def test_budget_curves_csv_is_the_exact_curve(reported_study: Path) -> None:
    data = csv(reported_study, "budget_curves")
    trials = pd.read_parquet(reported_study / "results" / "trials")
    cell, strategy = "digits.dcgan.ns.none.none", "random"
    sub = trials[(trials.cell == cell) & (trials.strategy == strategy)]
    want = budget_curve(np.where(sub.status == "completed", sub.score, np.inf))
    got = data[(data.cell == cell) & (data.strategy == strategy)].reset_index(drop=True)
    assert got["budget"].tolist() == list(range(1, 13))
    for col in ("median", "lo", "hi", "mean"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-12, equal_nan=True)
    rb = data[data.strategy == "gp"]["running_best"]
    assert rb.notna().all() and data[data.strategy == "random"]["running_best"].isna().all()


def test_sensitivity_marks_log_hyperparameters(reported_study: Path) -> None:
    data = csv(reported_study, "sensitivity")
    assert set(data["hp"]) == set(HPS)
    logs = data.groupby("hp")["log_x"].first()
    assert logs["lr"] and logs["penalty_weight"] and not logs["beta1"]
    kinds = data.groupby("hp")["kind"].first()
    assert kinds["n_disc"] == "choice" and kinds["lr"] == "log" and kinds["beta1"] == "linear"


def test_sensitivity_only_for_searched_hyperparameters() -> None:
    """Read from the typed study: a one-value choice is not searched, an integer range (n_disc) is
    drawn as categories, a range the trials did not vary gets no panel."""
    from gansweep.analysis.loading import searched_hps
    from gansweep.study import study_from_data

    study = study_from_data({"name": "s", "search": [
        {"strategy": "table1"},
        {"strategy": "random", "trials": 2, "space": {
            "lr": {"low": 1e-4, "high": 1e-2, "log": True}, "beta2": {"low": 0.9, "high": 0.999},
            "beta1": {"choices": [0.5]}, "n_disc": {"low": 1, "high": 4}}}]}, "s.yaml")
    trials = pd.DataFrame({"hp_lr": [1e-3, 2e-3], "hp_beta2": [0.999, 0.999], "hp_beta1": [0.5, 0.5],
                           "hp_n_disc": [1, 3]})
    assert searched_hps(study, trials) == {"lr": "log", "n_disc": "choice"}
    assert searched_hps(None, trials) == {}


def test_distributions_top_share(reported_study: Path) -> None:
    data = csv(reported_study, "distributions")
    top = data[data.subset == "top15"]
    assert (top["n"] <= np.ceil(0.15 * top["trials"])).all() and (top["n"] >= 1).all()
    assert (data.groupby("cell")["diverged"].first().sum()) == 9


def test_budget_curves_draw_the_cells_of_a_panel_on_one_axis(study_dir: Path) -> None:
    """--panel chooses the axes, --by the colours; every style drawn is in the legend."""
    from gansweep.analysis.figures.budget_curves import shared_axis_figure
    from gansweep.analysis.tables import budget_curves_data

    study = load_study(study_dir, by="normalization", panel="penalty")
    data = budget_curves_data(study)
    fig = shared_axis_figure(study, data)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    panels = sorted(data["penalty"].unique())
    assert len(axes) == len(panels) > 1
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    colours = set()
    for ax, value in zip(axes, panels):
        sub = data[data["penalty"] == value]
        lines = ax.get_lines()
        assert len(lines) == sub.groupby(["cell", "strategy"]).ngroups  # every cell and strategy of the panel
        colours |= {ln.get_color() for ln in lines}
        assert value in ax.get_title()
    assert len(colours) == study.trials["normalization"].nunique()  # colour: the --by axis
    assert set(study.trials["normalization"]) | set(study.trials["strategy"]) <= legend
    assert "median best of k (exact)" in legend
    other = load_study(study_dir, by="penalty", panel="normalization")
    assert len([a for a in shared_axis_figure(other, budget_curves_data(other)).axes if a.get_visible()]) \
        == study.trials["normalization"].nunique()


def test_options_change_the_layout(study_dir: Path) -> None:
    study = load_study(study_dir)
    assert (study.panel, study.by) == ("dataset", "penalty")  # ties: first varying axis
    study = load_study(study_dir, by="normalization", panel="penalty", metric="modes")
    assert (study.panel, study.by, study.metric, study.higher_is_better) == ("penalty", "normalization", "modes", True)


def test_partial_results(partial_study: Path) -> None:
    for name in PLOTS:
        assert (partial_study / "plots" / f"{name}.png").exists()
    data = csv(partial_study, "budget_curves")
    assert data.groupby(["cell", "strategy"])["budget"].max().max() < 12
    assert set(data["metric"]) == {"modes"}


def test_not_a_study(tmp_path: Path) -> None:
    with pytest.raises(NotAStudyError, match="not a study directory"):
        plot_study(tmp_path)
    with pytest.raises(NotAStudyError):
        plot_study(tmp_path / "missing")


def test_no_results_yet(tmp_path: Path) -> None:
    (tmp_path / "study.yaml").write_text("name: empty\n")
    with pytest.raises(GansweepError, match="no results yet"):
        plot_study(tmp_path)
    (tmp_path / "results" / "trials").mkdir(parents=True)
    with pytest.raises(GansweepError, match="no results yet"):
        plot_study(tmp_path)


def test_broken_study_yaml(study_dir: Path) -> None:
    (study_dir / "study.yaml").write_text("name: [unclosed\n")
    with pytest.raises(GansweepError, match="study.yaml.*(not valid|invalid) YAML"):
        plot_study(study_dir)


def test_bad_options(study_dir: Path) -> None:
    with pytest.raises(GansweepError, match="unknown metric 'nope'"):
        plot_study(study_dir, metric="nope")
    with pytest.raises(GansweepError, match="--by"):
        plot_study(study_dir, by="dataset")
    with pytest.raises(GansweepError, match="--panel"):
        plot_study(study_dir, panel="colour")


def test_cells_without_any_result_and_single_trials(tmp_path: Path) -> None:
    """A cell whose trials all diverged or failed, next to a cell with a single trial."""
    import math

    from gansweep.analysis import write_report
    from gansweep.store import TrialStore

    store = TrialStore(tmp_path / "results", metrics=["fd"], hps=["lr"])
    rows = [("none", "failed"), ("none", "diverged"), ("sn", "completed")]
    for i, (norm, status) in enumerate(rows):
        cell = f"digits.dcgan.ns.none.{norm}"
        ok = status == "completed"
        store.write({"trial_id": f"{cell}-random-{i:04d}", "cell": cell, "dataset": "digits",
                     "architecture": "dcgan", "loss": "ns", "penalty": "none", "normalization": norm,
                     "strategy": "random", "index": i, "status": status,
                     "score": 1.5 if ok else math.nan, "fd": 1.5 if ok else math.nan, "hp_lr": 1e-3,
                     "error": "boom" if status == "failed" else None},
                    [{"step": 10, "seconds": 1.0, "fd": 1.5}] if ok else [])
    page = write_report(tmp_path).read_text()  # no study.yaml: tolerated
    assert "digits.dcgan.ns.none.none" in page and "digits.dcgan.ns.none.sn" in page
    data = csv(tmp_path, "budget_curves")
    bad = data[data.cell == "digits.dcgan.ns.none.none"]
    assert bad["median"].tolist() == [math.inf, math.inf] and bad["mean"].isna().all()
    assert data[data.cell == "digits.dcgan.ns.none.sn"]["median"].tolist() == [1.5]


def test_plot_and_report_of_a_study_where_every_trial_diverged(study_dir: Path) -> None:
    """No finite score anywhere (log axes with nothing to scale): one report, exit 0, no traceback."""
    import subprocess

    import pyarrow as pa
    import pyarrow.parquet as pq

    for part in (study_dir / "results" / "trials").rglob("*.parquet"):
        t = pq.read_table(part)
        t = t.set_column(t.schema.get_field_index("status"), t.schema.field("status"),
                         pa.array(["diverged"] * len(t), t.schema.field("status").type))
        t = t.set_column(t.schema.get_field_index("score"), t.schema.field("score"),
                         pa.nulls(len(t), t.schema.field("score").type))
        pq.write_table(t, part)
    done = subprocess.run(["gansweep", "report", str(study_dir)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert (study_dir / "report.html").is_file() and (study_dir / "plots" / "verdicts.csv").is_file()
