"""The paper's fixed settings (Kurach et al., Table 1) as a search strategy."""

from __future__ import annotations

from gansweep.search.base import ListSearcher
from gansweep.study.plan import PlanEntry, table1_settings


def make_table1(entry: PlanEntry, seed: int) -> ListSearcher:
    return ListSearcher(table1_settings(entry.cell), seed)
