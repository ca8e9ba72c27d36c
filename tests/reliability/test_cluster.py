"""A Ray node lost mid-study (ray.cluster_utils.Cluster on one machine): the study completes, nothing lost."""

from __future__ import annotations

import time

import pytest

from gansweep.store import stored_trial_ids

from _reliab import SPACE, Drivers, check_complete, wait_for, write_study

pytestmark = pytest.mark.slow


def test_a_worker_node_dies_mid_study(tmp_path):
    from ray.cluster_utils import Cluster

    # max_failures 6: until the lost node is declared dead (5 missed checks), Ray may still place a
    # retry on it, which fails at once ("actor is temporarily unavailable"); 3 retries were spent
    # that way once in a full suite run under load (session 11). The claim is unchanged: nothing lost.
    study_file = write_study(tmp_path, failure={"max_failures": 6},
                             search=[{"strategy": "random", "trials": 12, "space": SPACE}])  # 48 trials
    study_dir = tmp_path / "runs" / "rel"
    # The lost node is noticed within ~5 s. A hair trigger (3 missed checks 500 ms apart) can take
    # the surviving node for dead when a loaded machine stalls its raylet for 1.5 s, and its trials
    # then fail their retries: the likely cause of the one failure seen (load 2-9, a trial stored with
    # an unexpected status; check_complete now names status and error).
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "_system_config": {
        "health_check_initial_delay_ms": 0, "health_check_period_ms": 1000, "health_check_failure_threshold": 5}})
    drivers = Drivers()
    try:
        doomed = cluster.add_node(num_cpus=1)
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        proc = drivers.start("run", str(study_file), "--out", str(tmp_path / "runs"), "--dry-run",
                             "--address", cluster.address)
        assert wait_for(lambda: proc.poll() is not None or len(stored_trial_ids(study_dir)) >= 10, timeout=240)
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        at = len(stored_trial_ids(study_dir))
        t0 = time.monotonic()
        cluster.remove_node(doomed, allow_graceful=False)
        out, err = proc.communicate(timeout=400)
        assert proc.returncode == 0, err.decode()[-3000:]
        print(f"node removed at {at}/48 stored trials; study finished {time.monotonic() - t0:.0f} s later")
    finally:
        drivers.close()
        cluster.shutdown()
    df = check_complete(study_file, study_dir)
    assert len(df) == 48 and at < 48
