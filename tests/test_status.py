"""The trial statuses: one list, stored as the strings every study so far holds."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from gansweep.status import FINAL, SCORED, UNSCORED, Status


def test_stored_values_are_the_strings_old_studies_hold() -> None:
    assert [s.value for s in FINAL] == ["completed", "stopped", "diverged", "failed"]
    assert set(SCORED) == {"completed", "stopped"} and set(UNSCORED) == {"diverged", "failed"}
    assert Status.RUNNING not in FINAL


def test_a_status_reads_and_writes_as_its_string() -> None:
    assert pa.array([Status.STOPPED]).to_pylist() == ["stopped"]
    assert pd.Series(["completed", "failed", "stopped"]).isin(SCORED).tolist() == [True, False, True]
    assert f"{Status.FAILED}" == "failed" and {"failed": 1}[Status.FAILED] == 1
