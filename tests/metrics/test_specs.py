"""The metric registry, default_primary and check_metrics (validation before anything runs)."""

import pytest

from gansweep.errors import GansweepError
from gansweep.metrics import METRICS, EvalOptions, check_metrics, default_primary, result_keys
from gansweep.metrics.inception import INCEPTION_FILENAME, torch_fidelity_weights_path

NAMES = ["fd", "fid", "hq", "is", "kid", "mmd", "modes", "msssim", "precision", "recall", "recon", "rkl"]


def test_registry_names_and_specs():
    assert METRICS.names() == NAMES
    for name, spec in METRICS.items():
        assert spec.name == name and spec.doc and spec.kinds <= {"image", "points"}
    assert not METRICS["fid"].higher_is_better and METRICS["is"].higher_is_better
    assert result_keys(["kid", "is", "fd"]) == ["kid", "kid_std", "is", "is_std", "fd"]


def test_default_primary():
    assert [default_primary(d) for d in ("digits", "ring8", "grid25")] == ["fd", "mmd", "mmd"]
    assert default_primary("cifar10") == "fid" and default_primary("folder:/x") == "fid"


def test_check_unknown_name_suggests():
    with pytest.raises(GansweepError, match="unknown metric 'msssm' .*did you mean 'msssim'"):
        check_metrics(["msssm"], "image", None)


@pytest.mark.parametrize(
    "names, kind, pattern",
    [
        (["fid"], "points", "metric 'fid' applies to image data sets"),
        (["modes"], "image", "metric 'modes' applies to points data sets"),
        (["msssim"], "points", "'msssim' applies to image"),
        (["mmd"], "image", "metric 'mmd' applies to points data sets"),
    ],
)
def test_check_kind_mismatch(names, kind, pattern):
    with pytest.raises(GansweepError, match=pattern):
        check_metrics(names, kind, None)


def test_check_fd_only_for_digits_images():
    check_metrics(["fd"], "image", None, dataset_name="digits")
    with pytest.raises(GansweepError, match="'fd' on images is defined for 'digits' only.*use 'fid'"):
        check_metrics(["fd"], "image", None, dataset_name="cifar10")


def test_check_embedded_metrics_need_nothing():
    check_metrics(["fd", "modes", "hq", "precision", "recall", "recon"], "points", None)
    check_metrics(["fd", "msssim", "recon"], "image", None)


def test_check_inception_missing_offline_says_where():
    with pytest.raises(GansweepError) as err:
        check_metrics(["fd", "fid", "kid"], "image", None)
    msg = str(err.value)
    assert "\n" not in msg
    assert "fid, kid" in msg and "offline" in msg
    assert "GANSWEEP_INCEPTION_WEIGHTS" in msg and "metrics.inception_weights" in msg
    assert str(torch_fidelity_weights_path()) in msg and INCEPTION_FILENAME in msg


def test_check_explicit_missing_path(tmp_path):
    with pytest.raises(GansweepError, match="does not exist"):
        check_metrics(["fid"], "image", str(tmp_path / "nope.pth"))


def test_check_env_missing_path(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSWEEP_INCEPTION_WEIGHTS", str(tmp_path / "nope.pth"))
    with pytest.raises(GansweepError, match="GANSWEEP_INCEPTION_WEIGHTS"):
        check_metrics(["is"], "image", None)


def test_check_weights_found(tmp_path, monkeypatch):
    w = tmp_path / "w.pth"
    w.write_bytes(b"x")
    check_metrics(["fid", "is", "kid", "precision"], "image", str(w))
    monkeypatch.setenv("GANSWEEP_INCEPTION_WEIGHTS", str(w))
    check_metrics(["fid"], "image", None)
    monkeypatch.delenv("GANSWEEP_INCEPTION_WEIGHTS")
    cached = torch_fidelity_weights_path()  # torch-fidelity's cache (TORCH_HOME is a temp dir here)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    check_metrics(["fid"], "image", None)


def test_options_refuse_unknown_and_bad_values():
    assert EvalOptions.from_mapping({"is_splits": 5}).is_splits == 5
    with pytest.raises(GansweepError, match="did you mean 'kid_subsets'"):
        EvalOptions.from_mapping({"kid_subset": 10})
    with pytest.raises(GansweepError, match="positive int"):
        EvalOptions.from_mapping({"is_splits": 0})
    with pytest.raises(GansweepError, match="positive int"):
        EvalOptions.from_mapping({"recon_steps": 2.5})


def test_every_metric_key_is_exported():
    import gansweep.metrics as metrics
    from gansweep.metrics import specs

    keys = {name for name in vars(specs) if name.startswith("KEY_")}
    assert keys <= set(metrics.__all__) and all(getattr(metrics, k) == getattr(specs, k) for k in keys)
