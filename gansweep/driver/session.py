"""Ray for one driver: a new local Ray or a cluster joined in one line or refused, signals that
stop the driver as Ctrl-C does, and what each trial asks Ray for.

Apart from :mod:`gansweep.driver.run` so that the search (``run``/``resume``) and the confirmation
stage (:mod:`gansweep.driver.confirm`) share it without importing each other.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from gansweep.errors import GansweepError
from gansweep.study import Study

log = logging.getLogger(__name__)


def _stop_driver() -> None:
    """Another driver took the study's lease over (this one hung past its expiry): stop as Ctrl-C
    would; Tune saves its experiment and ends the run, and nothing more is written."""
    os.kill(os.getpid(), signal.SIGINT)


def _on_cluster(address: str | None) -> bool:
    return (address or os.environ.get("RAY_ADDRESS") or "local") != "local"


class _NoTuneRestoreAdvice(logging.Filter):
    """Drops Tune's 'Resume experiment with: Tuner.restore(...)' record (gansweep says how to resume)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Resume experiment with" not in record.getMessage()


def _init_ray(address: str | None) -> None:
    import ray

    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    # Tune reads every trial's result files after fit(); gansweep's results are in its store.
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    # Token authentication stays on (the default); its notice is not news to a gansweep user.
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    # After Ctrl-C Tune advises 'Tuner.restore(path=...)' beside gansweep's own 'gansweep resume DIR':
    # a restore that skips the store and the study's checks. Only that advice is dropped.
    tune_log = logging.getLogger("ray.tune.tune")
    if not any(isinstance(f, _NoTuneRestoreAdvice) for f in tune_log.filters):
        tune_log.addFilter(_NoTuneRestoreAdvice())
    given = address or os.environ.get("RAY_ADDRESS")
    if given and given not in ("local", "auto"):
        check_form(given)  # also when this process's Ray is up (in-process callers): a typo is refused alike
    if ray.is_initialized():
        _stop_on_signals()
        return
    # No --address: a new local Ray, never a cluster that `ray start` (anyone's) recorded in /tmp/ray
    address = address or os.environ.get("RAY_ADDRESS") or "local"
    if address == "local" and os.environ.get("RAY_AUTH_MODE", "token").lower() != "token":
        log.warning("RAY_AUTH_MODE=%s: the local Ray accepts connections without a token",
                    os.environ["RAY_AUTH_MODE"])
    if address == "local":
        with _services_in_own_session():
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False, include_dashboard=False,
                     configure_logging=True)
        _stop_on_signals()
        return
    check_reachable(address)
    from ray.exceptions import AuthenticationError

    with join_deadline(address):
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False, include_dashboard=False,
                     configure_logging=True)
        except AuthenticationError:  # raised before any connection: RAY_AUTH_MODE=token and no token here
            raise GansweepError(f"Ray address {address}: RAY_AUTH_MODE=token but this machine has no token: give "
                                "the cluster's token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token); "
                                "see docs/CLUSTER.md (--address, RAY_ADDRESS)") from None
        except ConnectionError as exc:
            raise GansweepError(f"Ray address {address}: {_join_refusal(exc)} (--address, RAY_ADDRESS)") from None
    _stop_on_signals()


STOP_SIGNALS = ("SIGTERM", "SIGHUP")
"""What a cluster or a terminal sends to end a job (Kubernetes and Slurm SIGTERM before SIGKILL; a
closed terminal or SSH session SIGHUP): the driver stops as on Ctrl-C."""


def _stop_on_signals() -> None:
    """Make SIGTERM and SIGHUP stop the driver as Ctrl-C (SIGINT) does: Tune saves its experiment
    and ends the run, Ray shuts down, and the CLI prints how to resume (exit 1). Installed once Ray
    is up: ``ray.init`` puts its own handlers there (one that dumps native stacks and aborts), and
    without one SIGHUP kills the process silently."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in STOP_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _as_ctrl_c)


@contextlib.contextmanager
def _services_in_own_session() -> Iterator[None]:
    """Start the local Ray's processes (GCS, raylet, agents) in sessions of their own, as Ray does
    on Windows: a signal to the driver's process group (a closed terminal's SIGHUP, ``kill -TERM
    -PGID``) then reaches the driver only, which stops Tune while Ray still answers; killed with it,
    Ray left the driver waiting a minute for its GCS and dying without a word. They still end with
    the driver (Ray's kernel fate-sharing kills them when it dies); without that, left as they are."""
    from ray._private import services, utils  # ray 2.60: every service starts through ConsolePopen

    original = services.ConsolePopen
    if not utils.detect_fate_sharing_support() or sys.platform == "win32":
        yield
        return

    class OwnSession(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("start_new_session", True)
            super().__init__(*args, **kwargs)

    services.ConsolePopen = OwnSession
    try:
        yield
    finally:
        services.ConsolePopen = original


def _as_ctrl_c(signum: int, frame: Any) -> None:
    log.warning("%s received: stopping as on Ctrl-C", signal.Signals(signum).name)
    handler = signal.getsignal(signal.SIGINT)  # Tune's while it runs: stop, save, return
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:
        raise KeyboardInterrupt


def _join_refusal(exc: BaseException) -> str:
    """Why joining a cluster failed, in words: Ray 2.60 clusters want a token by default."""
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 8:
        chain.append(chain[-1].__cause__)
    if any("auth" in type(e).__name__.lower() or "InvalidAuthToken" in str(e) for e in chain):
        return ("the cluster refused this driver's token: set RAY_AUTH_MODE=token and give the cluster's token "
                "(RAY_AUTH_TOKEN, or ~/.ray/auth_token); see docs/CLUSTER.md")
    return f"could not join the Ray cluster ({str(exc).splitlines()[0][:200]})"


CONNECT_DEADLINE_S = 10.0


def check_form(address: str) -> tuple[str, str]:
    """``(host, port)`` of ``host:port`` or ``ray://host:port``; anything else refused in one line."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not (sep and host and port.isdigit() and 0 < int(port) < 65536) or any(c.isspace() for c in host):
        raise GansweepError(f"Ray address {address[:80]!r}: not host:port, ray://host:port or auto "
                            "(--address, RAY_ADDRESS)")
    return host, port


def check_reachable(address: str) -> None:
    """Refuse in one line a Ray address that does not answer; ``ray.init`` would retry it for ever."""
    import socket

    if address == "auto":
        return  # Ray finds the address itself (a cluster this machine started)
    host, port = check_form(address)
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_DEADLINE_S).close()
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise GansweepError(f"Ray address {address}: no answer within {CONNECT_DEADLINE_S:g} s ({reason}); "
                            "is the cluster up? (--address, RAY_ADDRESS)") from None


JOIN_DEADLINE_S = 30.0


@contextlib.contextmanager
def join_deadline(address: str) -> Iterator[None]:
    """End the process in one line if joining ``address`` takes longer than :data:`JOIN_DEADLINE_S`.

    Something that accepts TCP but is no Ray head makes ``ray.init`` retry in C++ for many
    minutes, beyond the reach of an exception; nothing is stored yet, so leaving is safe.
    """
    done = threading.Event()

    def watchdog() -> None:
        if not done.wait(JOIN_DEADLINE_S):
            sys.stderr.write(f"error: Ray address {address}: no Ray cluster answered within {JOIN_DEADLINE_S:g} s; "
                             "is it a Ray head's GCS address (host:6379)? (--address, RAY_ADDRESS)\n")
            sys.stderr.flush()
            os._exit(2)

    threading.Thread(target=watchdog, name="gansweep-join-deadline", daemon=True).start()
    try:
        yield
    finally:
        done.set()


AUTOSCALE_CONCURRENCY = 64  # trials asked for at once from a cluster that has no room yet


def trial_resources(study: Study, dry_run: bool) -> dict[str, float]:
    """What one trial asks Ray for. A dry-run trial evaluates a formula: at most one CPU and no
    GPU, so a GPU study's plan can be rehearsed on a laptop."""
    if dry_run:
        return {"cpu": min(study.resources.cpu, 1.0), "gpu": 0.0}
    return {"cpu": study.resources.cpu, "gpu": study.resources.gpu}


def default_concurrency(res: dict[str, float], planned: int, source: str, cluster: bool) -> int:
    """As many trials at once as the cluster's CPUs and GPUs hold now.

    A local Ray that cannot hold one trial would wait forever: refused. A cluster that cannot
    (an autoscaler starting from zero workers) gets ``AUTOSCALE_CONCURRENCY`` trials at once, so
    the autoscaler sees demand for more than one node.
    """
    import ray

    have = ray.cluster_resources()
    slots = int(have.get("CPU", 0) // res["cpu"])
    if res["gpu"] > 0:
        slots = min(slots, int(have.get("GPU", 0) // res["gpu"]))
    if slots >= 1:
        return slots
    if not cluster:
        raise GansweepError(
            f"{source}: resources: a trial needs {res['cpu']:g} CPUs and {res['gpu']:g} GPUs, but this machine "
            f"has {have.get('CPU', 0):g} CPUs and {have.get('GPU', 0):g} GPUs; lower resources, rehearse with "
            "--dry-run, or join a cluster with --address")
    n = min(planned, AUTOSCALE_CONCURRENCY)
    log.warning("the cluster has no room for a trial yet (autoscaling from zero?); asking for %d at once "
                "(--max-concurrent chooses)", n)
    return n


def trial_name(trial: Any) -> str:
    """Tune's trial name and directory: the deterministic gansweep trial id."""
    return str(trial.config.get("trial_id", trial.trial_id))
