"""What ``--log-to mlflow`` / ``--log-to wandb`` cost the driver per evaluation logged.

    python3 bench/bench_tracking.py [--trials 12] [--evals 10] [--repeat 2] [--mlflow-uri URI]

Runs one dry-run study (2 cells × ``--trials`` random trials, ``--evals`` evaluations each, reported
one by one as a real trial reports them: a median stopping rule that never stops) per variant, in
one process, on one local Ray: no logging, MLflow (a local ``mlflow server`` with a SQLite store,
started here unless ``--mlflow-uri``), W&B offline (``WANDB_MODE=offline``, files in a temporary
directory). Per evaluation: CPU seconds of Tune's controller thread in the tracking callback
(queueing), CPU seconds and wall seconds of the target's logging thread, and the study's wall time
against no logging. The first study (no logging) only warms Ray up.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "WANDB_SILENT": "true",
         "WANDB_MODE": "offline", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
                             f"sqlite:///{home / 'mlflow.db'}", "--default-artifact-root", str(home / "artifacts"),
                             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], cwd=home,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, **QUIET})
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/health", timeout=5):
                return proc, url
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("mlflow server did not start")


def study(name: str, trials: int, evals: int) -> dict:
    steps = 100 * evals
    return {"name": name, "grid": {"loss": ["ns", "wgan"], "penalty": ["none"]},
            "training": {"steps": steps, "eval_every": 100},
            "search": [{"strategy": "random", "trials": trials,
                        "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}},
                        "stopping": {"kind": "median", "grace_steps": steps - 1, "min_samples": 1000}}]}


def one(variant: list[str], name: str, out: Path, trials: int, evals: int) -> dict:
    import yaml

    import gansweep.driver.tracking as tracking
    from gansweep.driver.run import start
    from gansweep.store import read_evals
    from gansweep.study import load_study

    captured = []
    real = tracking.open_tracking

    def capture(*args, **kwargs):
        cb = real(*args, **kwargs)
        captured.append(cb)
        return cb

    tracking.open_tracking = capture
    try:
        path = out / f"{name}.yaml"
        path.write_text(yaml.safe_dump(study(name, trials, evals)))
        t0 = time.perf_counter()
        start(load_study(path), str(path), str(out / "runs"), dry_run=True, log_to=variant)
        wall = time.perf_counter() - t0
    finally:
        tracking.open_tracking = real
    n = len(read_evals(out / "runs" / name))
    row = {"variant": "+".join(variant) or "none", "evaluations": n, "study_s": wall}
    cb = captured[0] if captured else None
    if cb is not None:
        row["controller_ms_per_eval"] = 1000 * cb.seconds / n
        for target, st in cb.stats.items():
            row[f"{target}_thread_cpu_ms_per_eval"] = 1000 * st["seconds"] / max(st["written"], 1)
            row[f"{target}_thread_wall_ms_per_eval"] = 1000 * st["wall"] / max(st["written"], 1)
            row[f"{target}_logged"] = st["written"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=12, help="random trials per cell (2 cells)")
    ap.add_argument("--evals", type=int, default=10, help="evaluations per trial")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--mlflow-uri", default=None, help="log to this server instead of starting one")
    args = ap.parse_args()
    os.environ.update(QUIET)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        os.environ["WANDB_DIR"] = str(out / "wandb")
        (out / "wandb").mkdir()
        server, uri = (None, args.mlflow_uri) if args.mlflow_uri else start_server(out)
        try:
            one([], "warmup", out, 2, 2)
            rows = []
            for r in range(args.repeat):
                for variant in ([], [f"mlflow:{uri}"], ["wandb"]):
                    rows.append(one(variant, f"b{r}_{len(rows)}", out, args.trials, args.evals))
                    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items()}, flush=True)
        finally:
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
