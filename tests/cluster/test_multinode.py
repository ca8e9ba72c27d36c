"""A study on a multi-node Ray cluster, on one machine: a head with no CPUs (like the cluster
launcher's head) and two 1-CPU worker nodes, joined with ``address=`` as ``--address`` does."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from gansweep.study import build_plan, load_study

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("_inception_weights")]

STUDY = {
    "name": "multinode",
    "grid": {"loss": ["ns", "wgan"], "penalty": ["none", "gp"]},
    "training": {"steps": 400, "eval_every": 200},
    "search": [{"strategy": "random", "trials": 4,
                "space": {"lr": {"low": 1e-4, "high": 1e-2, "log": True}, "n_disc": {"choices": [1, 5]}}}],
    "resources": {"cpu": 1},
}


def test_dry_run_study_on_a_three_node_cluster(tmp_path: Path):
    pytest.importorskip("gansweep.gan", reason="build_plan needs the gan registries")
    pytest.importorskip("gansweep.metrics", reason="build_plan needs the metrics package")
    import ray
    from ray.cluster_utils import Cluster

    from gansweep.driver.run import start

    source = tmp_path / "multinode.yaml"
    source.write_text(yaml.safe_dump(STUDY))
    study = load_study(source)
    if ray.is_initialized():
        ray.shutdown()  # this test process's own Ray (an earlier test's): the driver must join the cluster
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
        cluster.wait_for_nodes()
        outcome = start(study, str(source), out=str(tmp_path / "runs"), address=cluster.address, dry_run=True)
        assert ray.cluster_resources().get("CPU") == 2  # the driver joined this cluster, not a new one
        alive = [n for n in ray.nodes() if n["Alive"]]
        assert len(alive) == 3 and len(workers) == 2
    finally:
        ray.shutdown()
        cluster.shutdown()
    plan = build_plan(study, str(source))
    df = pd.read_parquet(tmp_path / "runs" / "multinode" / "results" / "trials")
    assert sorted(df.trial_id) == sorted(plan.trial_ids())  # every planned trial, each stored once
    assert df.trial_id.is_unique and set(df.status) <= {"completed", "diverged"}
    assert outcome.stored == outcome.planned == plan.total == 16 and not outcome.interrupted
