"""studies/pacgan.yaml (PacGAN's Table 1): packing as a searched hyperparameter reaches the trial,
validate prices it, and a tiny real copy stores ``rkl`` and ``hp_pack``."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gansweep.search.composite import trial_config
from gansweep.study import load_study
from gansweep.study.cost import FlopModel, confirm_cost, format_hours, plan_cost
from gansweep.study.plan import build_plan
from gansweep.study.schema import Training
from gansweep.trial.worker import gan_config

STUDY = Path(__file__).resolve().parents[1] / "studies" / "pacgan.yaml"


@pytest.fixture(scope="module")
def plan():
    return build_plan(load_study(STUDY), str(STUDY))


def test_each_entry_fixes_its_packing_and_runs_ten_seeds(plan):
    assert plan.total == 80 and "pack" in plan.hp_names()
    by_entry: dict[tuple[str, str], list] = {}
    for entry in plan.entries:
        for i in range(entry.trials):
            cfg = trial_config(entry, i, {"lr": 1e-4, "beta1": 0.8, "pack": float(entry.space()["pack"].choices[0])},
                               None, plan.study.seed)
            gan = gan_config(cfg, plan.study.training)
            assert isinstance(cfg["hp"]["pack"], int) and gan.pack == cfg["hp"]["pack"]
            assert (gan.lr, gan.beta1, gan.batch_size, gan.z_dim, gan.width) == (1e-4, 0.8, 100, 2, 200)
            by_entry.setdefault((entry.cell.dataset, entry.label), []).append((gan.pack, cfg["seed"]))
    for (dataset, label), runs in by_entry.items():
        assert {p for p, _ in runs} == {1 if label == "gan" else int(label[-1])}
        assert len({s for _, s in runs}) == 10  # ten distinct seeds


def test_validate_prices_packing(plan):
    model = FlopModel(plan)
    shape = (2,)
    one, two, four = (model.step_seconds("mlp", shape, "none", 1, m) for m in (1, 2, 4))
    assert one < two < four  # G draws m× the samples, D's first layer is m× as wide
    assert model.step_seconds("mlp", shape, "none", 1, 1.5) == pytest.approx((one + two) / 2)
    stated = re.search(r"estimates ([\d,.]+) CPU-hours", STUDY.read_text()).group(1)
    assert format_hours(plan_cost(plan).hours) == stated


def test_search_and_confirmation_cost_grow_with_the_packing(tmp_path):
    raw = yaml.safe_load(STUDY.read_text())
    unpacked = copy.deepcopy(raw)
    for entry in unpacked["search"]:
        entry["space"]["pack"] = {"choices": [1]}
    path = tmp_path / "unpacked.yaml"
    path.write_text(yaml.safe_dump(unpacked))
    packed_plan, unpacked_plan = build_plan(load_study(STUDY), str(STUDY)), build_plan(load_study(path), str(path))
    assert plan_cost(packed_plan).hours > plan_cost(unpacked_plan).hours
    assert confirm_cost(packed_plan, 1, 3).hours > confirm_cost(unpacked_plan, 1, 3).hours


def test_validate_refuses_a_bad_pack(cli, tmp_path):
    raw = yaml.safe_load(STUDY.read_text())
    raw["search"][0]["space"]["pack"] = {"choices": [0]}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    code, out, err = cli("validate", bad)
    assert code == 2 and "pack must lie in [1, 64]" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_tiny_real_copy_stores_rkl_and_the_packing(cli, tmp_path):
    raw = copy.deepcopy(yaml.safe_load(STUDY.read_text()))
    raw["name"] = "pacgan-tiny"
    raw["grid"]["dataset"] = ["ring8"]
    raw["training"].update(steps=20, eval_every=10, batch_size=16, width=8)
    raw["training"]["options"].update(g_width=8)
    raw["metrics"]["samples"] = 200
    raw["search"] = [dict(e, trials=1) for e in raw["search"][:2]]
    Training(**raw["training"])
    study = tmp_path / "tiny.yaml"
    study.write_text(yaml.safe_dump(raw))
    code, out, err = cli("run", study, "--out", tmp_path, "--max-concurrent", "1")
    assert code == 0, err
    trials = pd.read_parquet(tmp_path / "pacgan-tiny" / "results" / "trials").sort_values("trial_id")
    assert set(trials.status) == {"completed"}, trials.error.tolist()
    assert trials.hp_pack.tolist() == [1, 2]
    assert (trials.score == trials.rkl).all() and trials.rkl.between(0, 2.08).all()
    assert trials.modes.between(0, 8).all() and trials.hq.between(0, 1).all()
    assert [json.loads(c)["hp"]["pack"] for c in trials.config] == [1, 2]
