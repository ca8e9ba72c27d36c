"""The paper's study files: they parse, plan as the paper's protocol says, and say what they cost."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gansweep.gan.specs import ARCH_SPECS
from gansweep.study import build_plan, load_study, study_from_data

pytestmark = pytest.mark.usefixtures("_inception_weights")  # real plans of the FID studies

STUDIES = Path(__file__).resolve().parents[2] / "studies"
PAPER = ("reg_norm", "loss", "biggan_lite")
OPTION_KEYS = {"shared_embedding", "skip_z", "orth_reg", "truncation", "ema_decay", "attention_resolution"}


def plan_of(name: str):
    pytest.importorskip("gansweep.gan", reason="the gan package (registries) is not in this checkout")
    pytest.importorskip("gansweep.metrics", reason="the metrics package is not in this checkout")
    path = STUDIES / f"{name}.yaml"
    return build_plan(load_study(path), str(path))


@pytest.mark.parametrize("name", PAPER)
def test_parses_and_has_a_header(name):
    path = STUDIES / f"{name}.yaml"
    study = load_study(path)
    assert study.name == name
    header = path.read_text().split("\nname:")[0]
    assert header.startswith(f"# {name} ")
    assert "Question:" in header and "GPU-hours" in header and "ESTIMATED" in header


@pytest.mark.parametrize("name", PAPER)
def test_plans_and_header_counts_match(name):
    plan = plan_of(name)
    header = (STUDIES / f"{name}.yaml").read_text().split("\nname:")[0]
    stated = re.search(r"([\d,]+)(?: trials)? in all", header)
    if stated:
        assert int(stated.group(1).replace(",", "")) == plan.total
    cells = re.search(r"= (\d+) cells", header)
    if cells:
        assert int(cells.group(1)) == len(plan.cells)
    ids = plan.trial_ids()
    assert len(ids) == len(set(ids)) == plan.total


def test_reg_norm_follows_the_paper():
    plan = plan_of("reg_norm")
    s = plan.study
    assert (s.training.batch_size, s.training.z_dim, s.training.steps) == (64, 128, 200_000)
    assert 100_000 % s.training.eval_every == 0  # the 100k-step numbers are evaluations
    assert s.metrics.primary == "fid" and s.metrics.samples == 10_000
    combos = {(c.penalty, c.normalization) for c in plan.cells}
    assert ("gp", "bn") not in combos and ("gp", "sn") in combos and ("l2", "bn") in combos
    assert not any(c.dataset == "cifar10" and c.architecture == "resnet19" for c in plan.cells)
    assert {c.loss for c in plan.cells} == {"ns"}
    assert len(plan.cells) == 55 and plan.total == 7_680
    gp = next(e for e in s.search if e.strategy == "gp")
    assert (gp.rounds, gp.per_round) == (12, 10)
    sp = gp.space
    assert (sp["lr"].low, sp["lr"].high, sp["lr"].log) == (1e-5, 1e-2, True)
    assert (sp["beta1"].low, sp["beta1"].high) == (0.0, 1.0) and (sp["beta2"].low, sp["beta2"].high) == (0.0, 1.0)
    assert sp["n_disc"].choices == [1, 5]
    assert (sp["penalty_weight"].low, sp["penalty_weight"].high, sp["penalty_weight"].log) == (0.1, 100.0, True)


def test_loss_study_covers_every_loss_with_sn_and_gp():
    plan = plan_of("loss")
    assert {c.loss for c in plan.cells} == {"ns", "wgan", "ls", "hinge"}
    for loss in ("ns", "ls", "hinge", "wgan"):
        mine = {(c.penalty, c.normalization) for c in plan.cells if c.loss == loss}
        assert {("gp", "none"), ("none", "sn"), ("gp", "sn")} <= mine
    assert ("none", "none") not in {(c.penalty, c.normalization) for c in plan.cells if c.loss == "wgan"}


def ablations() -> dict[str, dict]:
    text = (STUDIES / "biggan_lite.yaml").read_text()
    found = re.findall(r"^#\s+ablation (biggan_lite-[a-z0-9_]+):\s+(\{.*\})\s*$", text, re.M)
    return {name: yaml.safe_load(opts) for name, opts in found}


def test_biggan_lite_options_and_ablations():
    study = load_study(STUDIES / "biggan_lite.yaml")
    assert set(study.training.options) == OPTION_KEYS
    variants = ablations()
    assert len(variants) == 6
    covered = set()
    for name, changes in variants.items():
        assert set(changes) <= OPTION_KEYS, name
        covered |= set(changes)
        data = yaml.safe_load((STUDIES / "biggan_lite.yaml").read_text())
        data["name"] = name
        data["training"]["options"] = {**data["training"]["options"], **changes}
        variant = study_from_data(data, name)
        assert variant.training.options != study.training.options
    assert {"shared_embedding", "skip_z", "orth_reg", "truncation"} <= covered


def test_biggan_option_keys_exist_in_the_architecture():
    assert OPTION_KEYS <= set(ARCH_SPECS["biggan"].options)
