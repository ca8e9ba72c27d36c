"""SIGKILL the driver in the middle of a confirmation (issue 28): resume and confirm continue it,
nothing lost, nothing duplicated, every row the one its seeds give."""

from __future__ import annotations

import json
import random
import time

import pandas as pd
import pytest

from gansweep.store.confirm import read_confirm

from _reliab import SPACE, Drivers, check_complete, wait_for, write_study

pytestmark = pytest.mark.slow
TOP, SEEDS = 3, 4


@pytest.fixture
def drivers(ray_head):
    d = Drivers(ray_head)  # drivers on a cluster: a kill takes the driver, Ray stays up
    yield d
    d.close()


def _confirmed(study_dir) -> int:
    try:
        return len(read_confirm(study_dir))
    except Exception:  # a damaged file would fail the checks below, not this count
        return 0


def test_sigkill_the_driver_mid_confirmation_then_confirm_and_resume_finish_it(tmp_path, drivers):
    from gansweep.trial.synthetic import simulate
    from gansweep.trial.worker import best_so_far

    study_file = write_study(tmp_path, search=[{"strategy": "random", "trials": 5, "space": SPACE}],
                             confirm={"top": TOP, "seeds": SEEDS, "samples": 3000})
    runs, study_dir = tmp_path / "runs", tmp_path / "runs" / "rel"
    env = {"GANSWEEP_STORE_COMPACT_AT": "5"}  # compactions of results/confirm too: kills land in them
    one = ("--max-concurrent", "1")
    rng = random.Random(28)
    proc = drivers.start("run", str(study_file), "--out", str(runs), "--dry-run", *one, env=env)
    kills, at = 0, []
    for verb in ("confirm", "resume", "confirm"):
        target = _confirmed(study_dir) + rng.randint(3, 9)
        wait_for(lambda: proc.poll() is not None or _confirmed(study_dir) >= target, timeout=300, every=0.05)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is not None:
            break
        drivers.kill(proc)
        kills += 1
        at.append(_confirmed(study_dir))
        proc = drivers.start(verb, str(study_dir), *one, env=env)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert kills >= 2 and 0 < at[0] < 4 * TOP * SEEDS, (kills, at)
    search = check_complete(study_file, study_dir)
    rows = pd.read_parquet(study_dir / "results" / "confirm" / "trials")
    assert rows.trial_id.is_unique and len(rows) == 4 * TOP * SEEDS, (len(rows), at)
    assert rows.train_seed.is_unique and not set(rows.train_seed) & {json.loads(c)["seed"] for c in search.config}
    ranked = search[search.status == "completed"].sort_values(["score", "trial_id"]).groupby("cell").head(TOP)
    assert set(rows.confirms) == set(ranked.trial_id)  # each cell's top three, as the search ranked them
    for r in rows.itertuples():  # every row is its own seeds' result: no half-written or mixed row
        config = json.loads(r.config)
        records, status = simulate(config, [1000], "fd")
        assert r.status == status and (status != "completed" or r.score == best_so_far(records, "fd"))
    assert not list((study_dir / "results").rglob(".tmp-*"))
    print(f"{kills} kills at {at} confirmation rows; {len(rows)}/{4 * TOP * SEEDS} stored once")
