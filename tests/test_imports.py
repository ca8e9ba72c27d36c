"""The package's import structure: no module imports itself through others, and the fact layers
(specs, the study schema and plan) load without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import gansweep

ROOT = Path(gansweep.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_cycle_finder_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b", "a"]]


def test_package_import_graph_has_no_cycle() -> None:
    graph = _graph()
    assert graph["gansweep.data.real"] >= {"gansweep.data.base"}  # the graph sees real imports
    assert _cycles(graph) == []


def _imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_fact_layers_import_no_torch() -> None:
    loaded = _imported_after(
        "import gansweep.metrics.specs, gansweep.data.specs, gansweep.search.specs, gansweep.study\n"
        "from gansweep.metrics import METRICS, default_primary\n"
        "from gansweep.search import STRATEGY_SPECS\n"
        "assert 'fd' in METRICS and default_primary('ring8') == 'mmd'\n"
    )
    assert "torch" not in loaded


def test_metrics_package_still_hands_out_torch_parts() -> None:
    loaded = _imported_after("from gansweep.metrics import Evaluator, check_metrics")
    assert "torch" in loaded


def test_every_strategy_spec_has_a_searcher() -> None:
    from gansweep.search import STRATEGIES, STRATEGY_SPECS

    from gansweep.study.schema import STRATEGY_MODELS

    assert STRATEGIES.names() == STRATEGY_SPECS.names() == sorted(STRATEGY_MODELS)


def _small_study(root: Path) -> Path:
    """A stored real (not dry-run) study of the demo's plan with one finished trial per cell, written
    through the store as the driver writes it (no Ray: this is about what the readers import)."""
    import json

    from gansweep.store import TrialStore
    from gansweep.study import build_plan, load_study

    demo = Path(__file__).parents[1] / "studies" / "demo.yaml"
    study_dir = root / "demo"
    study_dir.mkdir()
    (study_dir / "study.yaml").write_text(demo.read_text())
    (study_dir / "gansweep.json").write_text(json.dumps({"dry_run": False}))
    plan = build_plan(load_study(demo), weights=False)
    store = TrialStore(study_dir / "results", metrics=["fd", "modes", "hq"], hps=plan.hp_names())
    for i, entry in enumerate(plan.entries):
        evals = [{"step": s, "seconds": s / 100, "fd": 1.0 / s + i, "modes": 8.0, "hq": 0.5} for s in (200, 400, 600)]
        row = {**entry.cell.fields(), "trial_id": entry.trial_id(0), "study": "demo", "cell": entry.cell.id,
               "strategy": entry.label, "round": None, "index": 0, "status": "completed",
               "score": evals[-1]["fd"], "fd": evals[-1]["fd"], "modes": 8.0, "hq": 0.5, "hp_lr": 1e-3,
               "steps": 600, "train_seconds": 6.0, "gpu": 0.0, "error": None, "config": {"cell": entry.cell.id}}
        store.write(row, evals)
    return study_dir


@pytest.mark.parametrize("command", [["status", "DIR"], ["plot", "DIR", "--out", "OUT"]])
def test_reading_commands_import_no_torch(tmp_path: Path, command: list[str]) -> None:
    """``status`` and ``plot`` are run the way a user runs them, under ``python -X importtime``
    (which names every module imported): torch (about 2 s of a 2-core machine's CPU, more than the
    whole command) never loads. (``validate`` does: it prices a plan by the FLOPs of the networks.)"""
    study_dir = _small_study(tmp_path)
    argv = [{"DIR": str(study_dir), "OUT": str(tmp_path / "out")}.get(a, a) for a in command]
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "gansweep.cli", *argv],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"typer", "gansweep.errors"} <= imported  # the check sees what the command imports
    assert not imported & {"torch", "ray", "sklearn", "skopt", "optuna"}, sorted(imported & {"torch", "ray"})
