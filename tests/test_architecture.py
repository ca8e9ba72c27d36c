"""docs/ARCHITECTURE.md is the design of record: its tables must say what the code has. Each table
is read from the Markdown and compared with what it describes: the layers with the package's
modules, the components with the registries, the store's columns with the store's schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import gansweep

ROOT = Path(gansweep.__file__).parent
DOC = ROOT.parent / "docs" / "ARCHITECTURE.md"


def table(heading: str) -> list[list[str]]:
    """The rows (cells stripped, header and rule left out) of the first table under ``## heading``."""
    text = DOC.read_text()
    section = text[text.index(f"## {heading}\n"):]
    section = section[: section.find("\n## ", 1) if "\n## " in section[1:] else None]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    assert len(lines) > 2, f"no table under '## {heading}'"
    return [[cell.strip() for cell in ln.strip("|").split("|")] for ln in lines[2:]]


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_the_layers_table_lists_every_module_of_the_package() -> None:
    listed = sorted(names(row[1])[0] for row in table("Layers"))
    actual = sorted([f"{p.name}/" for p in ROOT.iterdir() if (p / "__init__.py").is_file()]
                    + [p.name for p in ROOT.glob("*.py") if p.name != "__init__.py"])
    assert listed == actual


def _registries() -> dict[str, tuple[object, object | None, str]]:
    """kind -> (its specs, its implementation registry or None, the implementation registry's name)."""
    from gansweep.data import DATASETS
    from gansweep.data.specs import DATA_SPECS
    from gansweep.gan import ARCHITECTURES, LOSSES, NORMS, PENALTIES
    from gansweep.gan.specs import ARCH_SPECS, LOSS_SPECS, NORM_SPECS, PENALTY_SPECS
    from gansweep.metrics.specs import METRICS
    from gansweep.search import STRATEGIES, STRATEGY_SPECS

    return {"loss": (LOSS_SPECS, LOSSES, "LOSSES"), "penalty": (PENALTY_SPECS, PENALTIES, "PENALTIES"),
            "normalization": (NORM_SPECS, NORMS, "NORMS"), "architecture": (ARCH_SPECS, ARCHITECTURES, "ARCHITECTURES"),
            "dataset": (DATA_SPECS, DATASETS, "DATASETS"), "metric": (METRICS, None, ""),
            "strategy": (STRATEGY_SPECS, STRATEGIES, "STRATEGIES")}


def test_the_component_table_names_what_the_registries_hold() -> None:
    rows = {row[0]: row for row in table("Adding a component")}
    registries = _registries()
    assert sorted(rows) == sorted(registries)
    for kind, (specs, impl, impl_name) in registries.items():
        row = rows[kind]
        assert names(row[1]) == specs.names(), kind  # the names today: every spec
        spec_file, spec_name = names(row[2])
        assert f"{spec_name}: Registry" in (ROOT / spec_file).read_text(), kind
        if impl is not None:
            assert impl.names() == specs.names(), kind  # each spec implemented, nothing without a spec
            assert names(row[3])[-1] == impl_name, kind


def test_the_store_table_names_the_stored_columns() -> None:
    from gansweep.store.parquet import BASE_COLUMNS, TAIL_COLUMNS

    listed = [n for row in table("The results store") for n in names(row[0])]
    assert listed == [name for name, _ in (*BASE_COLUMNS, *TAIL_COLUMNS)]


@pytest.mark.parametrize("path", sorted({p for row in table("Adding a component") for c in row[2:]
                                         for p in names(c) if p.endswith(".py") and "<" not in p}))
def test_every_file_the_doc_names_exists(path: str) -> None:
    assert (ROOT / path).is_file(), path
