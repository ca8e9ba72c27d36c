"""The confirmation plan: which search trials are confirmed, with which new seeds, under which ids.

Why this module exists: a search ranks configurations on one training run each, scored on the
evaluation stream that also chose the step the trial kept. The confirmation stage (docs/CONFIRM.md)
trains the ``top`` configurations of every cell and search entry again with ``seeds`` *new*
training seeds and scores each once, at the end of training, on a fresh evaluation stream with
``samples`` samples. Everything here is a pure function of the study and its stored search rows,
so a resumed confirmation plans the same trials under the same ids and seeds.

Ids: ``<search trial id>-cNN`` (NN the seed index, two digits or more), a grammar of its own
(:data:`CONFIRM_ID`) beside the plan's; search ids are unchanged.

Seeds: a confirmation's training seed and its evaluation seed are hashes of (study seed, search
trial id, seed index) with a ``confirm`` tag, and are re-drawn in the unlikely case they equal a
search trial's training seed or evaluation stream: a confirmation never replays a search run.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import ValidationError

from gansweep.errors import GansweepError
from gansweep.study.plan import TRIAL_ID, Plan, PlanEntry
from gansweep.study.schema import HYPERPARAMETERS, Confirm, Study

META_KEY = "confirm"
"""Where gansweep.json records the confirmation settings of an earlier ``gansweep confirm``."""

CONFIRM_ID = re.compile(TRIAL_ID.pattern + r"-c[0-9]{2,4}")
"""The grammar of a confirmation trial's id: the search trial it confirms, ``-c`` and its seed index."""
EVAL_OFFSET = 1_000_003  # the trainer's evaluation stream is seeded at its training seed + this
DEFAULT_SAMPLES = 10_000


def is_confirm_id(value: object) -> bool:
    """True for an id of :data:`CONFIRM_ID` (safe as a file name, like a plan's trial id)."""
    return isinstance(value, str) and CONFIRM_ID.fullmatch(value) is not None


def confirm_id(trial_id: str, seed_index: int) -> str:
    return f"{trial_id}-c{seed_index:02d}"


@dataclass(frozen=True)
class ConfirmSettings:
    """What one confirmation runs: ``top`` configurations per cell and entry, ``seeds`` each, scored on
    ``samples`` samples."""

    top: int
    seeds: int
    samples: int

    def as_dict(self) -> dict[str, int]:
        return {"top": self.top, "seeds": self.seeds, "samples": self.samples}


def resolve_settings(study: Study, recorded: Any = None, top: int | None = None, seeds: int | None = None,
                     samples: int | None = None, source: str = "confirm") -> ConfirmSettings:
    """The confirmation's settings: each option given here, else the study file's ``confirm:``, else the
    last confirmation's (``recorded``, from gansweep.json), else the defaults (3 configurations, 5 seeds,
    max(10,000, metrics.samples) samples). One line names a bad value (exit code 2)."""
    base: dict[str, Any] = {}
    if isinstance(recorded, dict):
        base.update({k: v for k, v in recorded.items() if k in ("top", "seeds", "samples")})
    if study.confirm is not None:
        base.update(study.confirm.model_dump(exclude_none=True))
    base.update({k: v for k, v in (("top", top), ("seeds", seeds), ("samples", samples)) if v is not None})
    try:
        model = Confirm.model_validate(base)
    except ValidationError as exc:  # one line per the house rule
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "confirm"
        raise GansweepError(f"{source}: confirm.{field}: {first['msg']}") from None
    n = model.samples if model.samples is not None else max(DEFAULT_SAMPLES, study.metrics.samples)
    return ConfirmSettings(model.top, model.seeds, n)


def search_seed(study_seed: int, trial_id: str) -> int:
    """A search trial's training seed (as :func:`gansweep.search.composite.trial_config` draws it)."""
    return int.from_bytes(hashlib.sha256(f"{study_seed}:{trial_id}".encode()).digest()[:4], "little")


def _draw(study_seed: int, tag: str, trial_id: str, seed_index: int, taken: set[int]) -> int:
    for attempt in range(1000):
        text = f"{study_seed}:{tag}:{trial_id}:{seed_index}" + (f":{attempt}" if attempt else "")
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
        if seed not in taken:
            return seed
    raise RuntimeError("no free seed in 1000 draws")  # 2**32 seeds: unreachable


@dataclass(frozen=True)
class Selected:
    """One search trial chosen for confirmation: its entry, its rank in its cell and entry (1 = best)."""

    entry: PlanEntry
    rank: int
    trial_id: str
    index: int
    score: float
    hp: dict[str, float]


def _stored_hp(trial_id: str, config: Any) -> dict[str, float]:
    """The hyperparameters a stored search row ran with (its config JSON), checked: names a search may
    set, finite numbers. A row someone else wrote is data, never trusted blindly."""
    from gansweep.storage import stored_json

    try:
        value = stored_json(config) if isinstance(config, str) else None
    except ValueError:
        value = None
    hp = value.get("hp") if isinstance(value, dict) else None
    ok = isinstance(hp, dict) and hp and all(
        k in HYPERPARAMETERS and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        for k, v in hp.items())
    if not ok:
        raise GansweepError(f"results/trials: trial {trial_id}: its stored config has no valid 'hp' "
                            "(hyperparameters); it cannot be confirmed (run the search again, or lower confirm.top)")
    # integers stay integers (n_disc): the trainer refuses 1.0 discriminator steps
    return {k: int(v) if HYPERPARAMETERS[k][2] and float(v).is_integer() else float(v) for k, v in hp.items()}


def select(plan: Plan, trials: pd.DataFrame, top: int) -> list[Selected]:
    """Per plan entry (cell × search entry), its ``top`` scored trials, best first (ties: by id).

    Only planned ids of scored trials (completed, stopped) with a finite score count: a diverged
    configuration has nothing to confirm."""
    from gansweep.status import SCORED

    planned = set(plan.trial_ids())
    out: list[Selected] = []
    if trials.empty:
        return out
    ok = trials[trials.trial_id.isin(planned) & trials.status.isin(SCORED)]
    ok = ok[pd.to_numeric(ok.score, errors="coerce").map(lambda v: math.isfinite(v) if v == v else False)]
    for e in plan.entries:
        rows = ok[(ok.cell == e.cell.id) & (ok.strategy == e.label)].sort_values(["score", "trial_id"])
        for rank, r in enumerate(rows.head(top).itertuples(index=False), 1):
            out.append(Selected(e, rank, r.trial_id, int(r.index), float(r.score), _stored_hp(r.trial_id, r.config)))
    return out


def require_search_done(plan: Plan, trials: pd.DataFrame, where: str) -> None:
    """Confirmation selects from a finished search: a search still running would change its top."""
    stored = set(trials.trial_id) if not trials.empty else set()
    missing = [t for t in plan.trial_ids() if t not in stored]
    if missing:
        raise GansweepError(f"{where}: the search is not finished ({plan.total - len(missing)}/{plan.total} trials "
                            f"stored, e.g. {missing[0]} is not); finish it first with 'gansweep resume {where}'")


def confirm_configs(plan: Plan, selected: list[Selected], settings: ConfirmSettings) -> list[dict[str, Any]]:
    """The config of every confirmation trial (what :func:`gansweep.trial.worker.run_trial` receives),
    in a deterministic order: entry, rank, seed index."""
    study_seed = plan.study.seed
    search = {search_seed(study_seed, t) for t in plan.trial_ids()}
    taken = set(search) | {s + EVAL_OFFSET for s in search}
    configs = []
    for s in selected:
        for k in range(settings.seeds):
            seed = _draw(study_seed, "confirm", s.trial_id, k, taken)
            taken.add(seed)
            eval_seed = _draw(study_seed, "confirm-eval", s.trial_id, k, taken | {seed + EVAL_OFFSET})
            taken.add(eval_seed)
            configs.append({
                "trial_id": confirm_id(s.trial_id, k),
                "cell": s.entry.cell.id,
                **s.entry.cell.fields(),
                "strategy": s.entry.label,
                "round": None,
                "index": s.index,
                "suggested_by": f"confirm: search rank {s.rank} of {s.entry.cell.id} {s.entry.label}",
                "seed": seed,
                "eval_seed": eval_seed,
                "hp": dict(s.hp),
                "confirms": s.trial_id,
                "rank": s.rank,
                "seed_index": k,
                "search_score": s.score,
            })
    return configs


def stream_text(config: dict[str, Any], samples: int) -> str:
    """Which evaluation stream a confirmation row's numbers come from (stored in its ``stream`` column)."""
    return (f"confirm: one evaluation at the end of training, noise stream seed {config['eval_seed']}, "
            f"{samples} samples; training seed {config['seed']}; selected on the search's stream "
            f"(trial {config['confirms']}, best of its evaluations), never scored on it")
