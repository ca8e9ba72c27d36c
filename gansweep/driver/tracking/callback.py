"""The driver's side of ``--log-to``: a Tune callback that queues, one thread per target that logs."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from ray.tune import Callback

from gansweep.driver.tracking.targets import scrub
from gansweep.status import Status

log = logging.getLogger(__name__)
QUEUE_MAX = 100_000
"""Events a target may lag behind before new ones are dropped (a few MB; warned once)."""
DRAIN_IDLE_S = 60.0
"""At the end, how long a target may make no progress before what is left is abandoned."""


class _Sink:
    """One target's thread: takes events off a queue and hands them to its backend. The first
    failure is logged once and ends this target's logging for the driver run; the study goes on."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_MAX)
        self.down: str | None = None
        self.dropped = 0
        self.done = 0  # events handled (for the drain's progress)
        self.seconds = 0.0  # CPU time of this thread in the backend (the overhead measured in bench)
        self.wall = 0.0  # and its wall time (waiting for the server included)
        self.written = 0  # evaluations logged
        self._full_warned = False
        self._thread = threading.Thread(target=self._loop, name=f"gansweep-{backend.name}", daemon=True)
        self._thread.start()

    def put(self, event: tuple) -> None:
        if self.down is not None:
            return
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            if not self._full_warned:
                self._full_warned = True
                log.warning("%s: logging lags %d events behind the study; dropping new ones until it catches up",
                            self.backend.label, QUEUE_MAX)

    def _loop(self) -> None:
        while True:
            event = self.queue.get()
            if event is None:
                return
            if self.down is None:
                t0, w0 = time.thread_time(), time.perf_counter()
                try:
                    self.written += getattr(self.backend, event[0])(*event[1:]) or 0
                except Exception as exc:  # noqa: BLE001  a tracking server must never stop the study
                    self._fail(exc)
                self.seconds += time.thread_time() - t0
                self.wall += time.perf_counter() - w0
            else:
                self.dropped += 1
            self.done += 1

    def _fail(self, exc: BaseException) -> None:
        text = scrub(f"{type(exc).__name__}: {exc}", self.backend.secrets)
        self.down = text.splitlines()[0][:500] if text.strip() else type(exc).__name__
        log.warning("%s: logging stopped for the rest of this driver run (%s); the study goes on, its "
                    "results are stored as always ('gansweep resume' logs again)", self.backend.label, self.down)

    def close(self, idle: float = DRAIN_IDLE_S) -> None:
        """Log what is queued, then end the runs still open; abandoned after ``idle`` seconds without progress."""
        if not self._thread.is_alive():
            return
        self.put(("close",))
        try:
            self.queue.put(None, timeout=idle)  # waits only while the queue is full and the thread drains it
        except queue.Full:
            log.warning("%s: %d events not logged (its server made no progress for %.0f s)",
                        self.backend.label, self.queue.qsize(), idle)
            return
        waited, last, since = 0.0, -1, time.monotonic()
        while self._thread.is_alive():
            self._thread.join(timeout=1.0)
            waited += 1.0
            if self.done != last:
                last, since = self.done, time.monotonic()
            elif time.monotonic() - since > idle:
                log.warning("%s: %d events not logged (its server made no progress for %.0f s)",
                            self.backend.label, self.queue.qsize(), idle)
                return
            if waited == 5.0:  # a dry run reports faster than a server takes it: say why the driver waits
                log.warning("%s: still logging %d queued events (the trials are done)", self.backend.label,
                            self.queue.qsize())
        if self.dropped:
            log.warning("%s: %d events of this driver run were not logged", self.backend.label, self.dropped)


class TrackingCallback(Callback):
    """Hands each trial's start, new evaluations and end to every target's thread.

    Pickled into Tune's saved experiment without its targets (no URI, no thread): restored, it does
    nothing; the driver adds a fresh one when ``--log-to`` is given again."""

    def __init__(self, backends: list[Any]) -> None:
        self.backends = list(backends)
        self._sinks: list[_Sink] | None = None
        self._logged: dict[str, int] = {}  # trial → evaluations queued by this driver
        self.seconds = 0.0  # controller-thread CPU time spent here
        # per target once closed: evaluations logged, its thread's CPU seconds, events dropped
        # (bench/bench_tracking.py reads them)
        self.stats: dict[str, dict[str, float]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"backends": [], "_sinks": None, "_logged": {}, "seconds": 0.0, "stats": {}}

    @property
    def sinks(self) -> list[_Sink]:
        if self._sinks is None:
            self._sinks = [_Sink(b) for b in self.backends]
        return self._sinks

    def _put(self, event: tuple) -> None:
        for sink in self.sinks:
            sink.put(event)

    @staticmethod
    def _tid(trial: Any) -> str | None:
        from gansweep.driver.tensorboard import SAFE

        tid = (getattr(trial, "config", None) or {}).get("trial_id")
        return tid if isinstance(tid, str) and SAFE.match(tid) else None

    def _evals(self, tid: str, result: dict[str, Any] | None) -> None:
        evals = [e for e in (result or {}).get("evals") or [] if isinstance(e, dict)]
        done = self._logged.get(tid, 0)
        if len(evals) > done:
            self._put(("log", tid, [dict(e) for e in evals[done:]]))
            self._logged[tid] = len(evals)

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if not self.backends:
            return
        t0 = time.thread_time()
        tid = self._tid(trial)
        if tid is not None:
            self._put(("start", tid, dict(trial.config)))
        self.seconds += time.thread_time() - t0

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if not self.backends:
            return
        t0 = time.thread_time()
        tid = self._tid(trial)
        if tid is not None:
            self._evals(tid, result)
        self.seconds += time.thread_time() - t0

    def _end(self, trial: Any, result: dict[str, Any] | None) -> None:
        if not self.backends:
            return
        t0 = time.thread_time()
        tid = self._tid(trial)
        if tid is not None:
            result = result or {}
            self._evals(tid, result)
            final = {k: result.get(k) for k in ("status", "score", "best_step", "steps")}
            final["status"] = str(final["status"] or Status.FAILED.value)  # a plain string: W&B writes an enum's name
            self._put(("end", tid, final))
            self._logged.pop(tid, None)
        self.seconds += time.thread_time() - t0

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        from gansweep.driver.scheduler import stopped_result

        self._end(trial, stopped_result(trial.last_result))

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._end(trial, {**(trial.last_result or {}), "status": Status.FAILED.value})

    def backfill(self, study_dir: Any, stored: set[str]) -> None:
        """Queue the logging of stored trials an earlier driver did not finish logging (resume)."""
        if self.backends:
            self._put(("backfill", study_dir, set(stored)))

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Drain every target and end its open runs; called at the experiment's end and by the driver."""
        sinks, self._sinks = self._sinks, None
        for sink in sinks or ():
            sink.close()
            self.stats[sink.backend.name] = {"written": sink.written, "seconds": sink.seconds, "wall": sink.wall,
                                             "dropped": sink.dropped}
