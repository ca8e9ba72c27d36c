"""The library internals behind gansweep/compat/: the installed versions are the tested ones and
every internal still exists (an upgrade fails here, not inside a study)."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
import pytest
from packaging.version import Version

from gansweep.compat import ray as ray_compat
from gansweep.compat import skopt as skopt_compat


def _in(dist: str, bounds: tuple[str, str]) -> bool:
    return Version(bounds[0]) <= Version(version(dist)) < Version(bounds[1])


def test_ray_version_is_tested_and_internals_exist() -> None:
    assert _in("ray", ray_compat.TESTED), version("ray")
    from ray.tune import Tuner
    from ray.tune.impl.tuner_internal import TunerInternal

    assert hasattr(TunerInternal, "get_run_config")
    tuner = Tuner(lambda config: None)
    assert ray_compat.run_config(tuner) is not None
    assert ray_compat.search_alg(tuner) is None  # no searcher given; the path to it exists
    assert hasattr(tuner._local_tuner, "_tune_config")
    assert isinstance(Tuner, type)


def test_ray_words_a_lost_node_as_node_loss_callback_reads_it() -> None:
    """NodeLossCallback knows a lost node by Ray's wording (from its C++ core, not Python) and
    forgives through the trial's failure count: both must survive an upgrade of Ray."""
    from pathlib import Path

    import ray
    from ray.tune.trainable.metadata import _TrainingRunMetadata

    from ray.exceptions import ActorUnavailableError

    from gansweep.driver.callbacks import NODE_DIED, UNAVAILABLE

    root = Path(ray.__file__).parent
    binaries = b"".join((root / p).read_bytes() for p in ("_raylet.so", "core/src/ray/gcs/gcs_server"))
    for mark in (NODE_DIED, "The actor is temporarily unavailable: "):
        assert mark.encode() in binaries, mark
    exc = ActorUnavailableError("The actor is temporarily unavailable: RpcError", b"\x01" * 16)
    assert UNAVAILABLE.search(str(exc)).group(1) == "01" * 16
    meta = _TrainingRunMetadata()
    meta.num_failures = 2

    class _T:
        run_metadata = meta

    ray_compat.forgive_failure(_T())
    assert meta.num_failures == 1


@pytest.mark.parametrize("dist", sorted(skopt_compat.TESTED))
def test_skopt_versions_are_tested(dist: str) -> None:
    assert _in(dist, skopt_compat.TESTED[dist]), version(dist)


def test_skopt_internals_exist_and_fast_predict_matches() -> None:
    from skopt.space import Real

    dims = [Real(0.0, 1.0), Real(0.0, 1.0)]
    gp = skopt_compat.fast_gp_class()(**skopt_compat.cook_gp(dims, 0).get_params(deep=False))
    rng = np.random.default_rng(0)
    X, y = rng.random((12, 2)), rng.random(12)
    gp.fit(X, y)
    for attr in skopt_compat.FITTED:
        assert hasattr(gp, attr), attr
    present, name = skopt_compat.white_noise_param(gp.kernel_)
    assert isinstance(present, bool) and isinstance(name, str)
    Xq = rng.random((5, 2))
    mean, std = gp.predict(Xq, return_std=True)
    ref_mean, ref_std = super(type(gp), gp).predict(Xq, return_std=True)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(std, ref_std, rtol=1e-5, atol=1e-8)
