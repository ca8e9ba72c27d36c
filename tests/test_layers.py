"""The layers import downwards only: the store (the study directory's layout included) and the
analysis never reach the driver, so ``gansweep plot`` and ``report`` work on a copied study
directory without the code that runs studies, and the driver's modules can change without them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gansweep

ROOT = Path(gansweep.__file__).parent

# layer -> packages it must never import (at module level, inside a function, or by name through importlib)
FORBIDDEN = {
    "analysis": ("gansweep.driver", "gansweep.trial", "gansweep.cli"),
    "store": ("gansweep.driver", "gansweep.analysis", "gansweep.trial", "gansweep.cli"),
}


def imported_names(path: Path) -> set[str]:
    """Every module a file imports, and every string that names a gansweep module (importlib)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import"  # the package imports absolutely
            out |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("gansweep."):
            out.add(node.value)
    return out


def offending(layer: str) -> list[str]:
    banned = FORBIDDEN[layer]
    return sorted(f"{p.relative_to(ROOT.parent)}: {name}" for p in (ROOT / layer).rglob("*.py")
                  for name in imported_names(p) if name.startswith(banned))


def test_the_checker_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from gansweep.driver.run import start\n    return start\n"
                 "LAZY = {'x': 'gansweep.driver.run'}\n")
    assert {"gansweep.driver.run", "gansweep.driver.run.start"} <= imported_names(f)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_does_not_import_upwards(layer: str) -> None:
    assert offending(layer) == []
