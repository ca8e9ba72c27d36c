"""Analysis of stored results: budget curves, plots, the study report, exports.

Reads ``results/`` alone (no Ray, no GPU, no trial code), so it runs on a laptop against a copy of
a study directory, including one whose study is still running.
"""

from gansweep.analysis.budget import budget_curve, budget_curves, running_best

__all__ = ["budget_curve", "budget_curves", "running_best"]
