"""What the study-directory gateway costs: the link walk every command makes, and signing Tune's state.

    python3 bench/bench_trust.py [--trials 7680] [--parts 400] [--state-mb 4] [--repeat 3]

Builds a study tree the size of a ``--trials`` study (``tune/<trial>/checkpoint_000001/trial.pt``
and ``result.json`` per trial, ``--parts`` Parquet part files), then times
:func:`gansweep.storage.refuse_links` over it (``status``, ``plot``, ``report`` and ``resume`` run
it once), and the write of one experiment-state file of ``--state-mb`` MiB through the signing file
system against a plain ``LocalFileSystem`` write (Tune writes it every few seconds). Best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.fs as pafs

from gansweep.driver.trust import signing_filesystem
from gansweep.storage import refuse_links


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=7680)
    ap.add_argument("--parts", type=int, default=400)
    ap.add_argument("--state-mb", type=float, default=4.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gansweep-bench-trust-"))
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")  # a key of its own, not the user's
    try:
        for i in range(args.trials):
            ckpt = root / "tune" / f"t{i:05d}" / "checkpoint_000001"
            ckpt.mkdir(parents=True)
            (ckpt / "trial.pt").write_bytes(b"x")
            (ckpt.parent / "result.json").write_bytes(b"{}")
        (root / "results" / "trials").mkdir(parents=True)
        for i in range(args.parts):
            (root / "results" / "trials" / f"part-{i:04d}.parquet").write_bytes(b"x")
        entries = sum(len(d) + len(f) for _, d, f in os.walk(root))
        walk = best(lambda: refuse_links(root), args.repeat)
        print(f"refuse_links: {entries:,} entries ({args.trials:,} trials), best of {args.repeat}: "
              f"{walk * 1000:.0f} ms")

        data = os.urandom(int(args.state_mb * 2**20))
        target = root / "tune" / "experiment_state-bench.json"

        def write(fs: pafs.FileSystem) -> None:
            with fs.open_output_stream(str(target)) as f:
                f.write(data)

        signing = signing_filesystem(root)
        plain = best(lambda: write(pafs.LocalFileSystem()), args.repeat)
        signed = best(lambda: write(signing), args.repeat)
        print(f"{args.state_mb:g} MiB experiment state: plain {plain * 1000:.1f} ms, signed {signed * 1000:.1f} ms "
              f"({signed / plain:.1f}x)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
