"""Cost of a plan in GPU-hours (CPU-hours for a CPU study): counted FLOPs or steps/s measured by
``gansweep bench``."""

import csv

import pytest
import yaml

from gansweep.study import build_plan, study_from_data
from gansweep.study.cost import CPU_STEP_SECONDS, LAUNCH_SECONDS, FlopModel, mean_n_disc, plan_cost

STUDY = {
    "name": "cost",
    "grid": {"dataset": ["cifar10"], "architecture": ["sndcgan"], "penalty": ["none", "gp"]},
    "training": {"steps": 100000, "eval_every": 20000, "batch_size": 64},
    "metrics": {"primary": "kid"},
    "resources": {"gpu": 1},
    "search": [{"strategy": "table1"},
               {"strategy": "random", "trials": 10, "space": {"lr": {"low": 1e-4, "high": 1e-3},
                                                               "n_disc": {"choices": [1, 5]}}}],
}


@pytest.fixture
def plan(inception_weights):
    return build_plan(study_from_data(STUDY, "cost.yaml"), "cost.yaml")


def test_n_disc_per_entry(plan):
    by_label = {(e.cell.penalty, e.label): mean_n_disc(e) for e in plan.entries}
    assert by_label[("none", "table1")] == 4.0  # Table 1: n_disc 5, 1, 5, 5
    assert by_label[("gp", "random")] == 3.0


def test_flops_follow_the_batch_and_the_penalty(plan):
    model = FlopModel(plan)
    g, d = model.forward_flops("sndcgan", (3, 32, 32))
    assert 1e9 < g < 1e11 and 1e9 < d < 1e11
    half = FlopModel(build_plan(study_from_data({**STUDY, "training": {**STUDY["training"], "batch_size": 32}},
                                                "c.yaml"), "c.yaml"))
    assert half.forward_flops("sndcgan", (3, 32, 32)) == pytest.approx((g / 2, d / 2), rel=1e-9)
    slow = FlopModel(plan, tflops=0.001)  # compute-bound: the formula exactly
    assert slow.step_seconds("sndcgan", (3, 32, 32), "gp", 5) == pytest.approx((5 * (g + 10 * d) + 3 * (g + d)) / 1e9)
    assert slow.step_seconds("sndcgan", (3, 32, 32), "gp", 1) > slow.step_seconds("sndcgan", (3, 32, 32), "none", 1)
    assert model.step_seconds("sndcgan", (3, 32, 32), "none", 1) == 2 * LAUNCH_SECONDS  # small: launch-bound


def test_measured_rates_replace_the_estimate(plan, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("architecture,resolution,penalty,normalization,n_disc,steps_per_s,variant\n"
                     "sndcgan,32,none,none,1,10.0,gansweep\n"
                     "sndcgan,32,none,none,1,1.0,naive\n")
    cost = plan_cost(plan, rates)
    hours = {c.cell: c.hours for c in cost.cells}
    # none cell: table1 12 trials at n_disc 4 + random 10 at n_disc 3; 10 G steps/s at n_disc 1
    want = 100000 / 10 / 3600 * (12 * (4 + 1) / 2 + 10 * (3 + 1) / 2)
    assert hours["cifar10.sndcgan.ns.none.none"] == pytest.approx(want)
    assert "rates.csv" in cost.source and "FLOP estimate where it has no row" in cost.source  # gp: no row


def test_validate_prints_the_cost(cli, tmp_path, inception_weights):
    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump(STUDY))
    code, out, err = cli("validate", study)
    assert code == 0, err
    assert "GPU-h" in out and "GPU-hours (estimated from counted FLOPs at 30 TFLOP/s" in " ".join(out.split())
    bad = tmp_path / "rates.csv"
    bad.write_text("architecture,steps_per_s\nsndcgan,3\n")
    code, out, err = cli("validate", study, "--rates", bad)
    assert code == 2 and err.strip().startswith(f"error: {bad}: a rates file needs the columns") and "\n" not in err.strip()


@pytest.mark.parametrize("name", ["reg_norm", "loss", "biggan_lite"])
def test_the_cost_in_each_paper_study_header_is_what_validate_computes(name, inception_weights):
    import re
    from pathlib import Path

    from gansweep.study import load_study
    from gansweep.study.cost import format_hours

    path = Path(__file__).parents[1] / "studies" / f"{name}.yaml"
    stated = re.search(r"computes this estimate \(([\d,.]+) GPU-hours\)", path.read_text()).group(1)
    assert format_hours(plan_cost(build_plan(load_study(path), str(path))).hours) == stated


def test_validate_reads_what_gansweep_bench_writes(cli, tmp_path, inception_weights):
    """The two commands agree on the CSV: a bench run's rows price the matching cells of a study."""
    rates = tmp_path / "bench.csv"
    code, out, err = cli("bench", "--device", "cpu", "--width", "8", "--batch-size", "8", "--steps", "2",
                         "--warmup", "1", "--repeats", "1", "--speedup", "none", "--normalization", "none",
                         "--csv", rates)
    assert code == 0, err
    study = {**STUDY, "grid": {**STUDY["grid"], "normalization": ["none"]},
             "training": {**STUDY["training"], "batch_size": 8, "width": 8}}
    cost = plan_cost(build_plan(study_from_data(study, "s.yaml"), "s.yaml"), rates)
    assert cost.source == f"steps/s from {rates} (FLOP estimate where it has no row)"  # gp: not benched
    rate = next(float(r["steps_per_s"]) for r in csv.DictReader(rates.open()) if r["variant"] == "gansweep")
    hours = {c.cell: c.hours for c in cost.cells}
    want = 100000 / rate / 3600 * (12 * (4 + 1) / 2 + 10 * (3 + 1) / 2)
    assert hours["cifar10.sndcgan.ns.none.none"] == pytest.approx(want)
    other = {**study, "training": {**study["training"], "batch_size": 64}}  # measured at another batch size
    assert "FLOP" in plan_cost(build_plan(study_from_data(other, "s.yaml"), "s.yaml"), rates).source


def test_validate_takes_bench_csv_with_its_overhead_rows(cli, tmp_path, inception_weights):
    """bench's defaults (SN) add 'overhead' rows without steps_per_s: validate --rates refused the
    file bench had just written ('line 8: ... steps_per_s a positive number')."""
    rates = tmp_path / "bench.csv"
    code, out, err = cli("bench", "--device", "cpu", "--width", "8", "--batch-size", "8", "--steps", "2",
                         "--warmup", "1", "--repeats", "1", "--speedup", "none", "--csv", rates)
    assert code == 0, err
    assert any(r["kind"] != "train" for r in csv.DictReader(rates.open()))  # the rows that were refused
    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump({**STUDY, "grid": {**STUDY["grid"], "normalization": ["sn"]},
                                     "training": {**STUDY["training"], "batch_size": 8, "width": 8}}))
    code, out, err = cli("validate", study, "--rates", rates)
    assert code == 0, err
    assert f"steps/s from {rates}" in " ".join(out.split())


def test_a_cpu_study_is_priced_in_cpu_hours(cli, tmp_path, inception_weights):
    """A study that asks for no GPU ran on CPUs but was priced as '<1 min of GPU time'."""
    cpu = {**STUDY, "resources": {"cpu": 1}}
    gpu_cost = plan_cost(build_plan(study_from_data(STUDY, "s.yaml"), "s.yaml"))
    cpu_cost = plan_cost(build_plan(study_from_data(cpu, "s.yaml"), "s.yaml"))
    assert (gpu_cost.device, cpu_cost.device) == ("GPU", "CPU")
    assert cpu_cost.hours > 100 * gpu_cost.hours  # one core against a GPU
    assert "15 GFLOP/s a core" in cpu_cost.source
    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump(cpu))
    code, out, err = cli("validate", study)
    assert code == 0, err
    assert "CPU-h" in out and "GPU" not in out and "CPU-hours (estimated from counted FLOPs" in " ".join(out.split())


def test_the_demo_is_priced_at_the_cpu_time_it_takes():
    """The demo (2-D points, no GPU) was priced at 0 as '<1 min of GPU time'. Its 16 trials of
    3,000 steps at width 128 take about 6.4 CPU-minutes measured one by one on one thread of a
    loaded AMD EPYC (19 s a plain NS trial, 23 s with SN, 27 s with GP; docs/DEMO.md),
    and the FLOP count prices them at 6.8: above the per-step floor, which the penalised cells
    double."""
    from pathlib import Path

    from gansweep.study import load_study

    path = Path(__file__).parents[1] / "studies" / "demo.yaml"
    plan = build_plan(load_study(path), str(path))
    cost = plan_cost(plan)
    assert cost.device == "CPU"
    assert 5 < cost.hours * 60 < 9  # minutes
    per_cell = {c.cell: c.hours for c in cost.cells}
    floor = 3000 * CPU_STEP_SECONDS * 4 * 2 / 3600  # 4 trials of 3,000 (D + G) steps
    assert per_cell["ring8.mlp.ns.none.none"] > floor
    assert per_cell["ring8.mlp.ns.gp.none"] > per_cell["ring8.mlp.ns.none.none"]  # the double backward
