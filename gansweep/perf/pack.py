"""Several trainings at once on one device: the aggregate steps/s of packed trials.

A study packs trials onto a GPU with fractional resources (``resources.gpu: 0.25`` → four
trials per GPU); each trial is its own Ray worker process. This measures the same thing without
Ray: ``n`` spawned processes build the same variant, warm up, wait at a barrier, run ``steps``
steps each, and report when they started and ended. The aggregate rate is all their steps over
the span from the first start to the last end (a system-wide monotonic clock).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time

import torch

from gansweep.errors import MachineError
from gansweep.perf.variants import BenchSpec, by_name, sync

log = logging.getLogger(__name__)

START_TIMEOUT_S = 600.0
"""How long a process waits at the barrier for the others (building, warm-up, compilation)."""



class PackFailed(MachineError):
    """A packed benchmark process failed: one line, exit code 1 (not the user's input)."""

def _worker(spec: BenchSpec, names: list[str], backend: str, warmup: int, steps: int, barrier, results) -> None:
    try:
        torch.set_num_threads(spec.threads)
        for name in names:
            stepper = by_name(spec, name, backend).build(spec)
            stepper.run(warmup)
            sync(spec.device)
            barrier.wait(START_TIMEOUT_S)
            t0 = time.monotonic()
            stepper.run(steps)
            sync(spec.device)
            results.put((name, t0, time.monotonic(), None))
            del stepper
            barrier.wait(START_TIMEOUT_S)  # nobody builds or compiles the next variant while others time
    except Exception as exc:  # noqa: BLE001 -- reported to the parent, which raises it
        barrier.abort()
        results.put(("", 0.0, 0.0, f"{type(exc).__name__}: {exc}"))


def packed_steps_per_s(spec: BenchSpec, names: list[str], n: int, steps: int, warmup: int,
                       backend: str = "inductor") -> dict[str, float]:
    """Aggregate steps/s of ``n`` processes training each variant of ``names`` at once (one after
    the other, in the same ``n`` processes, so the start-up is paid once)."""
    ctx = mp.get_context("spawn")  # CUDA cannot be forked
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(spec, names, backend, warmup, steps, barrier, results), daemon=True)
             for _ in range(n)]
    for p in procs:
        p.start()
    try:
        spans = _collect(results, procs, n * len(names))
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    rates = {}
    for name in names:
        mine = [(t0, t1) for who, t0, t1, _ in spans if who == name]
        span = max(t1 for _, t1 in mine) - min(t0 for t0, _ in mine)
        log.info("%d x %s: %d steps each in %.2fs", n, name, steps, span)
        rates[name] = n * steps / span
    return rates


def _collect(results, procs, expected: int) -> list[tuple[str, float, float, str | None]]:
    """``expected`` reports; an error reported, or a process dead without reporting, raises."""
    spans: list[tuple[str, float, float, str | None]] = []
    while len(spans) < expected:
        try:
            spans.append(results.get(timeout=1.0))
            if spans[-1][3]:
                raise PackFailed(f"a packed process failed: {spans[-1][3]}")
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise PackFailed(f"a packed process died (exit code {dead[0]})") from None
    return spans
