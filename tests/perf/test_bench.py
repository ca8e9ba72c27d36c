"""``gansweep bench`` on CPU at tiny sizes: the rows and the CSV it writes, packing, evaluation
time, bad input; and the naive baseline it compares against. No timed assertions: speed lives in
the figures the command prints, these only check that they exist and are numbers."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from torch import nn

from gansweep.gan import GANConfig
from gansweep.perf.bench import COLUMNS
from gansweep.perf.naive import NaiveLoop
from gansweep.perf.variants import BenchSpec

TINY = ["--batch-size", "4", "--resolution", "16", "--width", "2", "--z-dim", "8", "--steps", "2",
        "--warmup", "1", "--repeats", "1", "--threads", "1"]


def read(path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == COLUMNS
        return list(reader)


def positive(value: str) -> bool:
    return math.isfinite(float(value)) and float(value) > 0


def test_bench_measures_every_variant_and_packing_against_the_naive_loop(cli, tmp_path):
    path = tmp_path / "bench.csv"
    code, out, err = cli("bench", *TINY, "--penalty", "gp", "--pack", "2", "--speedup", "batched_checks",
                         "--csv", path)
    assert code == 0, err
    assert "x naive" in out
    rows = read(path)
    by = {r["variant"]: r for r in rows}
    assert {"naive", "gansweep", "naive norm=none", "gansweep norm=none", "gansweep penalty=none",
            "gansweep batched_checks=off", "naive x2", "gansweep x2"} <= set(by)
    speed = [r for r in rows if r["kind"] in ("train", "pack")]
    assert all(positive(r["steps_per_s"]) and positive(r["vs_naive"]) for r in speed)
    assert float(by["naive"]["vs_naive"]) == 1.0
    assert by["gansweep x2"]["processes"] == "2"
    overheads = {r["variant"]: float(r["overhead"]) for r in rows if r["kind"] == "overhead"}
    assert set(overheads) == {"sn overhead (gansweep)", "sn overhead (naive)", "gp overhead (gansweep)"}
    assert all(math.isfinite(v) and v > -1 for v in overheads.values())
    # a hardware-independent cost: the trainer dispatches fewer operators per step than the naive loop
    assert int(by["gansweep"]["ops_per_step"]) < int(by["naive"]["ops_per_step"])
    assert all(r["device"] == "cpu" and r["architecture"] == "sndcgan" and r["batch_size"] == "4" for r in rows)


def test_bench_times_an_evaluation(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # no weights found: random-init
    monkeypatch.delenv("GANSWEEP_INCEPTION_WEIGHTS", raising=False)
    path = tmp_path / "bench.csv"
    code, _, err = cli("bench", *TINY, "--normalization", "none", "--speedup", "none", "--eval-samples", "2",
                       "--csv", path)
    assert code == 0, err
    rows = read(path)
    assert [r["variant"] for r in rows] == ["naive", "gansweep", "eval fid"]
    ev = rows[-1]
    assert ev["kind"] == "eval" and ev["samples"] == "2" and positive(ev["seconds"])
    assert "random-init" in ev["description"]


@pytest.mark.parametrize(
    "args,match",
    [
        (["--loss", "hinj"], "did you mean 'hinge'"),
        (["--speedup", "fused"], "did you mean 'fused_adam'"),
        (["--device", "meta"], "only cpu and cuda"),
        (["--device", "nonsense"], "is not a device"),
        (["--eval-samples", "1"], "at least 2"),
        (["--eval-samples", "2", "--inception-weights", "/nonexistent/w.pth"], "does not exist"),
        pytest.param(["--device", "cuda"], "no CUDA device",
                     marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here")),
    ],
)
def test_bench_refuses_bad_input_with_one_line(cli, tmp_path, args, match):
    code, _, err = cli("bench", *TINY, *args, "--csv", tmp_path / "x.csv")
    assert code == 2
    assert match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


def test_the_naive_loop_uses_torch_spectral_norm_and_its_own_random_stream():
    spec = BenchSpec(batch_size=4, resolution=16, width=2, z_dim=8, data_size=16)
    state = torch.random.get_rng_state()
    loop = NaiveLoop(spec.config(), spec.data())
    loop.run(2)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert len(loop.losses) == 2 and all(math.isfinite(v) for pair in loop.losses for v in pair)
    wrapped = [m for m in loop.D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert wrapped and all(hasattr(m, "weight_orig") for m in wrapped)
    plain = NaiveLoop(GANConfig("sndcgan", batch_size=4, width=2, z_dim=8), spec.data())
    assert not any(hasattr(m, "weight_orig") for m in plain.D.modules())
