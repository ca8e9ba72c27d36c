"""The study lease on an object store when wall clocks disagree (campaign: clock jumps).

A lease's time of renewal is written by its holder's clock and judged by another machine's: a
holder whose clock is behind (or set back) looked expired while it still renewed, and a second
driver took the study over; a dead holder whose clock was ahead kept the study locked until this
machine's clock caught up. Staleness by wall clock is now confirmed on the contender's monotonic
clock: the lease must stay unchanged for one and a half of its holder's renewal periods.
"""

from __future__ import annotations

import json
import time

import pytest

from gansweep.errors import GansweepError

from test_s3 import bucket, s3_server  # noqa: F401  (the local S3 server and a bucket on it)


def test_a_live_holder_whose_clock_is_an_hour_behind_keeps_its_lease(bucket):  # noqa: F811
    from gansweep.lock import LeaseLock
    from gansweep.storage import location

    lock = location(f"{bucket}/behind") / ".lock"
    holder = LeaseLock(lock, renew=0.3, expire=60)
    real_body = holder._body
    holder._body = lambda: json.dumps({**json.loads(real_body()), "renewed": time.time() - 3600}).encode()
    with holder:
        with pytest.raises(GansweepError, match="another gansweep driver"):
            with LeaseLock(lock, renew=0.3, expire=60):
                pass
        assert json.loads(lock.read_text())["owner"] == holder.owner
        assert not holder.lost.is_set()


def test_a_dead_holder_whose_clock_was_an_hour_ahead_is_taken_over(bucket):  # noqa: F811
    from gansweep.lock import LeaseLock
    from gansweep.storage import location

    lock = location(f"{bucket}/ahead") / ".lock"
    lock.write_text(json.dumps({"owner": "another-host:4242:0000:1", "renewed": time.time() + 3600,
                                "expire_s": 60, "renew_s": 0.3}))
    start = time.monotonic()
    with LeaseLock(lock, renew=0.3, expire=60) as lk:
        assert json.loads(lock.read_text())["owner"] == lk.owner
    assert time.monotonic() - start < 30
