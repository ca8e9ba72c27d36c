"""Issue 18: figures legible with many cells (matplotlib objects, not pixels)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gansweep.analysis.figures import budget_curves, learning_curves
from gansweep.analysis.loading import load_study
from gansweep.analysis.study_analysis import StudyAnalysis


@pytest.fixture()
def captured(monkeypatch: pytest.MonkeyPatch) -> dict:
    figs: dict = {}
    real = budget_curves.save_figure

    def keep(fig, path: Path):
        figs[Path(path).stem] = fig
        return real(fig, path)

    for module in (budget_curves, learning_curves):  # each figure module writes through its own import
        monkeypatch.setattr(module, "save_figure", keep)
    return figs


def visible_axes(fig) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


def test_budget_curves_one_panel_per_cell_no_one_entry_strategy_legend(study_dir: Path, tmp_path: Path,
                                                                       captured: dict) -> None:
    study = load_study(study_dir)
    budget_curves.plot_budget_curves_by_cell(StudyAnalysis(study), tmp_path)  # budget_curves.png: one shared axis a panel
    fig = captured["budget_curves_by_cell"]
    axes = visible_axes(fig)
    assert len(axes) == study.trials["cell"].nunique() == 8
    labels = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    if study.trials["strategy"].nunique() == 1:
        assert "strategy" not in labels
    for ax in axes:  # bands do not bury the lines: light and below them
        for band in ax.collections:
            assert band.get_alpha() <= 0.2
        assert any(line.get_label().startswith("median") for line in ax.get_lines())


def test_learning_curves_one_panel_per_cell_with_median(study_dir: Path, tmp_path: Path, captured: dict) -> None:
    study = load_study(study_dir)
    learning_curves.plot_learning_curves(StudyAnalysis(study), tmp_path)
    fig = captured["learning_curves"]
    axes = visible_axes(fig)
    assert len(axes) == study.trials["cell"].nunique() == 8
    for ax in axes:
        assert [line.get_label() for line in ax.get_lines()].count("median") == 1
        assert len(ax.get_lines()) <= 2  # median and best trial, not one line per trial
        assert len(ax.get_yticks()) <= 8


def test_samples_scatter_keeps_data_visible_and_titles_every_metric(tmp_path: Path, monkeypatch) -> None:
    import numpy as np
    import torch

    from gansweep.analysis import samples

    class Stored:
        shape = (2,)
        trial_id = "cell-0001"
        metric = "fd"
        score = 0.12
        step = 5000

        def sample(self, n: int) -> torch.Tensor:
            return torch.randn(n, 2)

    figs: dict = {}
    monkeypatch.setattr(samples, "_real_points", lambda dataset, n: torch.randn(n, 2) * 0.1)
    monkeypatch.setattr(samples, "save_figure", lambda fig, path: figs.setdefault("fig", fig) and path)
    row = {"fd": 0.12, "modes": np.int64(7), "hq": np.float64(0.875)}
    samples.render(Stored(), "ring8", tmp_path / "s.png", n=200, row=row)
    ax = figs["fig"].axes[0]
    data, generated = {c.get_label(): c for c in ax.collections}["data"], \
        {c.get_label(): c for c in ax.collections}["generated"]
    assert data.get_zorder() > generated.get_zorder()  # the data on top of the generated points
    assert generated.get_alpha() <= 0.5 and generated.get_sizes()[0] <= 4
    heading = ax.get_title()
    assert "fd 0.12" in heading and "modes 7" in heading and "hq 0.875" in heading
