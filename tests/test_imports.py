"""The package's import structure: no module imports itself through others, and the fact layers
(specs, the study schema and plan) load without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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
        "assert 'fd' in METRICS and default_primary('ring8') == 'fd'\n"
    )
    assert "torch" not in loaded


def test_metrics_package_still_hands_out_torch_parts() -> None:
    loaded = _imported_after("from gansweep.metrics import Evaluator, check_metrics")
    assert "torch" in loaded


def test_every_strategy_spec_has_a_searcher() -> None:
    from gansweep.search import STRATEGIES, STRATEGY_SPECS

    from gansweep.study.schema import STRATEGY_MODELS

    assert STRATEGIES.names() == STRATEGY_SPECS.names() == sorted(STRATEGY_MODELS)
