"""The confirmation stage (issue 28, docs/CONFIRM.md): settings, ids and seeds, the synthetic trial's
seed variance, the confirmed verdicts, and a dry-run study confirmed from the CLI as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gansweep.analysis.confirmed import (A_BETTER, B_BETTER, cell_summary, confirmed_table, confirmed_verdicts,
                                         held_up)
from gansweep.errors import GansweepError
from gansweep.study import build_plan
from gansweep.study.confirm import (confirm_configs, confirm_id, is_confirm_id, resolve_settings, search_seed,
                                    select)
from gansweep.study.load import study_from_data
from gansweep.study.plan import is_trial_id

SPACE = {"lr": {"low": 1e-5, "high": 1e-2, "log": True}, "beta1": {"low": 0.0, "high": 1.0}}
# four cells whose synthetic quality differs: a gradient penalty lowers the surface by 8 (gansweep.gan.specs)
STUDY = {"name": "conf", "seed": 3, "grid": {"loss": ["ns", "wgan"], "penalty": ["none", "gp"]},
         "training": {"steps": 400, "eval_every": 100}, "failure": {"max_failures": 1},
         "search": [{"strategy": "random", "trials": 6, "space": SPACE}],
         "confirm": {"top": 2, "seeds": 3, "samples": 5000}}


def _study(**changes):
    return study_from_data({**json.loads(json.dumps(STUDY)), **changes}, "study.yaml")


# -- settings ---------------------------------------------------------------------------------------

def test_settings_take_options_over_the_study_file_over_the_last_confirmation_over_defaults():
    s = _study()
    assert resolve_settings(s).as_dict() == {"top": 2, "seeds": 3, "samples": 5000}
    assert resolve_settings(s, None, seeds=7).as_dict() == {"top": 2, "seeds": 7, "samples": 5000}
    bare = _study(confirm=None)
    assert resolve_settings(bare).as_dict() == {"top": 3, "seeds": 5, "samples": 10000}
    assert resolve_settings(bare, {"top": 4, "seeds": 2, "samples": 300}).as_dict() == {"top": 4, "seeds": 2,
                                                                                           "samples": 300}
    assert resolve_settings(s, {"top": 4, "seeds": 2, "samples": 300}).top == 2  # the study file wins
    with pytest.raises(GansweepError, match=r"^x: confirm.seeds: Input should be greater than or equal to 1$"):
        resolve_settings(s, None, seeds=0, source="x")


@pytest.mark.parametrize("value, words", [('"3"', "valid integer"), ("2.5", "valid integer"), ("0", "greater than"),
                                          ("true", "valid integer")])
def test_a_bad_confirm_value_is_one_line_naming_the_field_exit_2(cli, tmp_path, value, words):
    text = yaml.safe_dump({**STUDY, "confirm": {"top": 1, "seeds": 2}}).replace("top: 1", f"top: {value}")
    (tmp_path / "s.yaml").write_text(text)
    code, out, err = cli("validate", tmp_path / "s.yaml")
    assert code == 2
    assert err.strip().count("\n") == 0 and "confirm.top" in err and words in err, err


def test_validate_prices_the_confirmation_beside_the_search(cli, tmp_path):
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(STUDY))
    code, out, err = cli("validate", tmp_path / "s.yaml")
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if ln.startswith("confirmation:"))
    # 4 cells × 1 entry × top 2 × 3 seeds, full length: the search's 24 trials at the same length, so 100 %
    assert "24 trials" in line and "(100 % of the search's)" in line, line


# -- ids and seeds ------------------------------------------------------------------------------------

def _search_rows(plan, rng=np.random.default_rng(0)):
    rows = []
    for e in plan.entries:
        for i in range(e.trials):
            tid = e.trial_id(i)
            rows.append({"trial_id": tid, "cell": e.cell.id, "strategy": e.label, "index": i, "status": "completed",
                         "score": float(rng.uniform(40, 60)), "config": json.dumps({"hp": {"lr": 1e-3, "beta1": 0.5, "n_disc": 5}})})
    return pd.DataFrame(rows)


def test_confirmation_ids_and_seeds_are_new_deterministic_and_never_a_search_seed():
    plan = build_plan(_study(), weights=False)
    trials = _search_rows(plan)
    st = resolve_settings(plan.study)
    configs = confirm_configs(plan, select(plan, trials, st.top), st)
    assert len(configs) == len(plan.cells) * 2 * 3
    assert configs == confirm_configs(plan, select(plan, trials, st.top), st)  # a resume plans the same
    ids = [c["trial_id"] for c in configs]
    assert len(set(ids)) == len(ids) and all(is_confirm_id(i) and not is_trial_id(i) for i in ids)
    assert all(is_trial_id(c["confirms"]) and c["trial_id"] == confirm_id(c["confirms"], c["seed_index"])
               for c in configs)
    assert not is_confirm_id("../x-c01") and not is_confirm_id(ids[0] + "/..")
    search = {search_seed(plan.study.seed, t) for t in plan.trial_ids()}
    seeds = [c["seed"] for c in configs] + [c["eval_seed"] for c in configs]
    assert len(set(seeds)) == len(seeds) and not set(seeds) & search
    assert not {c["eval_seed"] for c in configs} & {s + 1_000_003 for s in search}  # not a search's eval stream
    # the top two of each cell, best first, with their stored hyperparameters
    for e in plan.entries:
        mine = trials[trials.cell == e.cell.id].sort_values("score")
        chosen = [c for c in configs if c["cell"] == e.cell.id and c["seed_index"] == 0]
        assert [c["confirms"] for c in chosen] == mine.trial_id.head(2).tolist()
        assert [c["rank"] for c in chosen] == [1, 2] and chosen[0]["hp"] == {"lr": 1e-3, "beta1": 0.5, "n_disc": 5}
        assert isinstance(chosen[0]["hp"]["n_disc"], int)  # the trainer refuses 5.0 discriminator steps


def test_search_seed_is_the_seed_the_search_gives_its_trials():
    from gansweep.search.composite import trial_config

    plan = build_plan(_study(), weights=False)
    e = plan.entries[1]
    assert trial_config(e, 4, {}, None, plan.study.seed)["seed"] == search_seed(plan.study.seed, e.trial_id(4))


def test_a_stored_row_without_valid_hyperparameters_is_refused_in_one_line():
    plan = build_plan(_study(), weights=False)
    trials = _search_rows(plan)
    best = trials.sort_values("score").trial_id.iloc[0]
    trials.loc[trials.trial_id == best, "config"] = json.dumps({"hp": {"lr": "1e-3; rm -rf"}})
    with pytest.raises(GansweepError, match=f"trial {best}: its stored config has no valid 'hp'"):
        select(plan, trials, 2)


def test_the_synthetic_trial_varies_with_the_training_seed_and_the_evaluation_stream():
    from gansweep.trial.synthetic import simulate

    base = {"dataset": "digits", "architecture": "dcgan", "loss": "ns", "penalty": "gp", "normalization": "none",
            "hp": {"lr": 3e-4, "beta1": 0.5, "beta2": 0.95, "n_disc": 5, "penalty_weight": 10.0}}
    runs = [simulate({**base, "seed": s}, [400], "fd")[0] for s in range(40)]
    finals = [r[0]["fd"] for r in runs if r]  # a rare run diverges: no evaluation
    assert np.std(finals) / np.mean(finals) > 0.02  # seed variance: 5 % log-normal
    assert len(finals) > 30
    a = simulate({**base, "seed": 1, "eval_seed": 10}, [400], "fd")[0][0]["fd"]
    b = simulate({**base, "seed": 1, "eval_seed": 11}, [400], "fd")[0][0]["fd"]
    same = simulate({**base, "seed": 1}, [100, 400], "fd")
    assert a != b and simulate({**base, "seed": 1, "eval_seed": 10}, [400], "fd")[0][0]["fd"] == a
    assert same == simulate({**base, "seed": 1}, [100, 400], "fd")  # the search's trials are unchanged


# -- verdicts -------------------------------------------------------------------------------------------

def _rows(levels: dict[str, list[list[float]]]) -> pd.DataFrame:
    rows = []
    for cell, configs in levels.items():
        for rank, values in enumerate(configs, 1):
            for k, v in enumerate(values):
                rows.append({"dataset": "d", "strategy": "random", "cell": cell, "confirms": f"{cell}-{rank}",
                             "rank": rank, "seed_index": k, "search_score": min(values) - 1, "samples": 100,
                             "status": "completed" if np.isfinite(v) else "diverged",
                             "score": v if np.isfinite(v) else np.nan})
    return pd.DataFrame(rows)


def test_verdicts_follow_the_cells_quality_and_say_how_many_seeds_would_resolve_a_close_pair():
    rng = np.random.default_rng(1)
    rows = _rows({"a": [list(40 + rng.normal(0, 1, 5)), list(41 + rng.normal(0, 1, 5))],
                  "b": [list(50 + rng.normal(0, 1, 5)), list(52 + rng.normal(0, 1, 5))],
                  "c": [list(40.3 + rng.normal(0, 1, 5)), list(41 + rng.normal(0, 1, 5))]})
    v = confirmed_verdicts(rows, resamples=500, seed=0).set_index(["cell_a", "cell_b"])
    assert v.loc[("a", "b"), "verdict"] == A_BETTER and v.loc[("a", "b"), "lo"] > 0.5
    assert v.loc[("b", "c"), "verdict"] == B_BETTER and v.loc[("b", "c"), "hi"] < 0.5
    close = v.loc[("a", "c")]
    assert close["verdict"] == "not resolved with 5 seeds" and close["lo"] <= 0.5 <= close["hi"]
    assert close["more_seeds"] >= 1 and close["resolution"].startswith(
        f"not resolved with 5 seeds — about {int(close['more_seeds'])} more seeds would resolve it")
    again = confirmed_verdicts(rows, resamples=500, seed=0).set_index(["cell_a", "cell_b"])
    pd.testing.assert_frame_equal(v, again)  # seeded
    top = confirmed_verdicts(rows, resamples=500, seed=0, configs="top").set_index(["cell_a", "cell_b"])
    assert top.loc[("a", "b"), "verdict"] == A_BETTER and (top.configs_a == 2).all()


def test_a_diverged_confirmation_run_loses_and_is_left_out_of_the_mean():
    rows = _rows({"a": [[40.0, np.inf, 42.0]], "b": [[45.0, 46.0, 47.0]]})
    t = confirmed_table(rows)
    a = t[t.cell == "a"].iloc[0]
    assert a["mean"] == 41.0 and a["diverged"] == 1 and a["seeds"] == 3
    v = confirmed_verdicts(rows, resamples=200).iloc[0]
    assert v["p_a_beats_b"] == pytest.approx(2 / 3)


def test_cell_summary_says_whether_the_search_choice_held_within_its_cell():
    rows = _rows({"a": [[44.0, 45.0, 46.0], [40.0, 41.0, 42.0]], "b": [[40.0, 41.0, 42.0], [50.0, 51.0, 49.0]]})
    s = cell_summary(rows, resamples=200).set_index("cell")
    assert not s.loc["a", "choice_held"] and s.loc["b", "choice_held"]
    assert s.loc["a", "choice_mean"] == 45.0 and s.loc["a", "seed_std"] == pytest.approx(1.0)
    assert s.loc["a", "top_mean"] == pytest.approx(43.0)


def test_held_up_names_a_search_winner_that_did_not_hold():
    rows = _rows({"a": [[50.0, 51.0, 52.0, 50.5, 51.5]], "b": [[40.0, 41.0, 42.0, 40.5, 41.5]]})
    trials = pd.DataFrame({"trial_id": ["a-1", "b-1"], "dataset": "d", "strategy": "random", "cell": ["a", "b"],
                           "status": "completed", "score": [30.0, 39.0]})  # the search preferred a
    s, v = cell_summary(rows, resamples=200), confirmed_verdicts(rows, resamples=200)
    h = held_up(trials, s, v).iloc[0]
    assert h["search_winner"] == "a" and h["confirmed_best"] == "b" and h["held"] == "no"
    assert h["sentence"].startswith("a, the search's winner, did not hold up: b beats it")


# -- the CLI, as a user runs it -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def confirmed(tmp_path_factory, ray_head):
    """A dry-run study with ``confirm:`` run to its end by ``gansweep run`` (search, then confirmation)."""
    import sys

    from gansweep.cli import main

    tmp = tmp_path_factory.mktemp("confirmed")
    (tmp / "s.yaml").write_text(yaml.safe_dump(STUDY))
    argv = sys.argv
    sys.argv = ["gansweep", "run", str(tmp / "s.yaml"), "--out", str(tmp / "runs"), "--dry-run"]
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, exc.code
    finally:
        sys.argv = argv
    return tmp / "runs" / "conf"


def check_rows(study_dir: Path, top: int = 2, seeds: int = 3) -> pd.DataFrame:
    """Every confirmation row once: cells × top × seeds, distinct new seeds, one row per id."""
    rows = pd.read_parquet(study_dir / "results" / "confirm" / "trials")
    search = pd.read_parquet(study_dir / "results" / "trials")
    assert rows.trial_id.is_unique
    assert len(rows) == search.cell.nunique() * top * seeds
    assert rows.groupby("confirms").seed_index.apply(sorted).map(lambda s: s == list(range(seeds))).all()
    assert rows.train_seed.is_unique and rows.eval_seed.is_unique
    assert not set(rows.train_seed) & {json.loads(c)["seed"] for c in search.config}
    assert set(rows.confirms) <= set(search.trial_id) and (rows.samples == 5000).all()
    assert rows.stream.str.startswith("confirm: one evaluation at the end of training").all()
    assert (rows.steps == STUDY["training"]["steps"]).all()
    return rows


@pytest.mark.slow
def test_a_dry_run_study_with_confirm_is_confirmed_by_run_and_shown_everywhere(confirmed, cli, tmp_path):
    rows = check_rows(confirmed)
    assert (rows.status == "completed").all()
    # each row's config is its resolved trial: one evaluation, at the end, on the confirmation's samples
    config = json.loads(rows.config.iloc[0])
    assert config["training"]["eval_every"] == config["training"]["steps"] == 400
    assert config["metrics"]["samples"] == 5000 and config["eval_seed"] == rows.eval_seed.iloc[0]
    # idempotent: confirming again runs nothing and changes nothing
    before = sorted(p.name for p in (confirmed / "results" / "confirm" / "trials").iterdir())
    code, out, err = cli("confirm", confirmed)
    assert code == 0, err
    assert "confirmation 24/24 trials stored" in out
    assert sorted(p.name for p in (confirmed / "results" / "confirm" / "trials").iterdir()) == before
    code, out, err = cli("status", confirmed)
    assert code == 0 and "confirmation: 24/24 trials stored" in out, out
    # the verdict on cells whose synthetic quality differs: a gradient penalty is better (−8)
    v = confirmed_verdicts(rows).set_index(["cell_a", "cell_b"])
    assert v.loc[("digits.dcgan.ns.gp.none", "digits.dcgan.ns.none.none"), "p_a_beats_b"] > 0.5


@pytest.mark.slow
def test_confirm_with_more_seeds_adds_only_the_new_seeds_and_refuses_another_sample_size(confirmed, cli, tmp_path):
    import shutil

    study_dir = tmp_path / "conf"
    shutil.copytree(confirmed, study_dir)
    (study_dir / ".lock").unlink(missing_ok=True)
    old = pd.read_parquet(study_dir / "results" / "confirm" / "trials").set_index("trial_id")
    code, out, err = cli("confirm", study_dir, "--samples", "300")
    assert code == 2 and "holds confirmations scored on 5000 samples" in err, err
    code, out, err = cli("confirm", study_dir, "--seeds", "4")
    assert code == 0, err
    new = check_rows(study_dir, seeds=4).set_index("trial_id")
    pd.testing.assert_series_equal(new.loc[old.index, "score"], old["score"])  # the first rows as they were
    assert json.loads((study_dir / "gansweep.json").read_text())["confirm"]["seeds"] == 4


def _study_dir(tmp_path: Path, dry_run: bool) -> Path:
    from gansweep.store.studydir import StudyDir

    sd = StudyDir(tmp_path / "conf")
    sd.create(_study(), {"dry_run": dry_run, "source": "s.yaml", "version": "test"})
    return sd.path


def test_confirm_before_the_search_is_finished_says_how_to_finish_it(cli, tmp_path):
    study_dir = _study_dir(tmp_path, dry_run=True)
    code, out, err = cli("confirm", study_dir)
    assert code == 2 and err.count("\n") == 1
    assert "the search is not finished (0/24 trials stored" in err and f"gansweep resume {study_dir}" in err
    assert not (study_dir / "results" / "confirm").exists()


def test_confirm_dry_run_of_a_real_study_is_refused(cli, tmp_path):
    study_dir = _study_dir(tmp_path, dry_run=False)
    code, out, err = cli("confirm", study_dir, "--dry-run")
    assert code == 2 and "this study trains real GANs, and its confirmation does too" in err
    code, out, err = cli("confirm", study_dir, "--seeds", "0")
    assert code == 2 and "confirm.seeds" in err, err


@pytest.mark.slow
def test_a_real_confirmation_trains_scores_once_on_its_own_stream_and_reruns_to_its_score(cli, tmp_path):
    """Real GANs (an MLP on ring8, 40 steps): one evaluation at the end on the confirmation's samples and
    stream; a row's config alone reruns it to the stored score (the evaluation seed is part of the trial)."""
    from gansweep.trial.worker import rerun

    study = {"name": "realconf", "grid": {"dataset": ["ring8"], "architecture": ["mlp"], "penalty": ["none", "gp"]},
             "training": {"steps": 40, "eval_every": 20, "batch_size": 64, "z_dim": 8, "width": 32},
             "metrics": {"samples": 300, "extra": ["modes"]}, "failure": {"max_failures": 0},
             "search": [{"strategy": "random", "trials": 2, "space": {"lr": {"low": 1e-4, "high": 1e-3, "log": True}}}],
             "confirm": {"top": 1, "seeds": 2, "samples": 500}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(study))
    code, out, err = cli("run", tmp_path / "s.yaml", "--out", tmp_path)
    assert code == 0, err
    study_dir = tmp_path / "realconf"
    rows = pd.read_parquet(study_dir / "results" / "confirm" / "trials")
    assert len(rows) == 2 * 1 * 2 and (rows.status == "completed").all(), rows.error.tolist()
    evals = pd.read_parquet(study_dir / "results" / "confirm" / "evals")
    assert sorted(evals.trial_id) == sorted(rows.trial_id) and (evals.step == 40).all()  # one evaluation each
    assert (rows.score == rows.mmd).all() and rows.modes.between(0, 8).all()  # mmd: ring8's default primary
    row = rows.iloc[0]
    again = rerun(json.loads(row.config), cache_dir=str(tmp_path / "cache"))
    assert again["score"] == row.score
    other = rerun({**json.loads(row.config), "eval_seed": int(row.eval_seed) + 1}, cache_dir=str(tmp_path / "cache"))
    assert other["score"] != row.score  # the evaluation stream is the row's own
