"""Study files: schema, loading, and expansion into a plan.

The names below are imported on first use (PEP 562), so a fact layer that imports the schema
(:mod:`gansweep.search.specs`) does not pull in the loader that reads those facts back.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "dump_study": "load", "load_study": "load", "study_from_data": "load",
    "Cell": "plan", "Plan": "plan", "PlanEntry": "plan", "build_plan": "plan",
    "Study": "schema",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
