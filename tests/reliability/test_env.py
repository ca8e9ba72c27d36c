"""Every environment variable gansweep reads: validated at start (one line, exit 2), listed in
docs/ENVIRONMENT.md (the README links it)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from gansweep import env

ROOT = Path(__file__).resolve().parents[2]
GARBAGE = ["garbage", "-1", "1e999", "nan", "{", "0x10", "true false", "x" * 5000]
VALID = {
    "GANSWEEP_STORE_COMPACT_AT": "7", "GANSWEEP_STORE_FSYNC": "0", "GANSWEEP_SEARCH_WORKERS": "3",
    "GANSWEEP_SEARCH_EXECUTOR": "process", "GANSWEEP_DATA": "/data", "GANSWEEP_DOWNLOAD": "yes",
    "GANSWEEP_DATA_MAX_GB": "0.5", "GANSWEEP_OFFLINE": "1", "GANSWEEP_CACHE": "/tmp/c",
    "GANSWEEP_INCEPTION_WEIGHTS": "/w.pth", "GANSWEEP_PROGRESS_EVERY": "5",
}
# Values that parse for a path variable; refused only where a path must be absolute.
REFUSED = [(name, value) for name in env.VARIABLES for value in GARBAGE
           if not (name in ("GANSWEEP_CACHE", "GANSWEEP_INCEPTION_WEIGHTS") and value != "x" * 5000)]


def test_every_variable_has_a_valid_example():
    assert set(VALID) == set(env.VARIABLES)
    env.check(VALID)


@pytest.mark.parametrize(("name", "value"), REFUSED, ids=lambda v: str(v)[:20])
def test_a_bad_value_is_one_line_at_start(cli, monkeypatch, tmp_path, name, value):
    monkeypatch.setenv(name, value)
    code, out, err = cli("status", tmp_path)
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.count("\n") == 1 and len(err) < 300, err
    assert err.startswith(f"error: environment variable {name}="), err


def test_the_installed_cli_refuses_garbage_before_running(tmp_path):
    """As a user runs it: the store would have crashed at import, the search in a worker."""
    proc = subprocess.run(["gansweep", "run", str(ROOT / "studies" / "demo.yaml"), "--dry-run", "--yes",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "GANSWEEP_STORE_COMPACT_AT": "lots"})
    assert proc.returncode == 2 and proc.stderr.startswith("error: environment variable GANSWEEP_STORE_COMPACT_AT"), \
        proc.stderr
    assert not any(tmp_path.iterdir())


def test_the_docs_list_every_variable_the_package_reads():
    assert "docs/ENVIRONMENT.md" in (ROOT / "README.md").read_text()
    page = (ROOT / "docs" / "ENVIRONMENT.md").read_text()
    table = page.split("# Environment variables", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(GANSWEEP_[A-Z_]+)` \|", table, re.M))
    read = set()
    for path in (ROOT / "gansweep").rglob("*.py"):
        read |= set(re.findall(r"\"(GANSWEEP_[A-Z_]+)\"", path.read_text()))
    assert listed == set(env.VARIABLES) == read
