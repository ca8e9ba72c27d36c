"""What every trial of a study shares, sent once through Ray's object store: the study's own
validated (frozen) models and this machine's paths; workers derive what they need from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gansweep.study.plan import Plan
from gansweep.study.schema import Data, Metrics, Resources, Training


@dataclass(frozen=True)
class TrialContext:
    training: Training
    metrics: Metrics
    data: Data
    resources: Resources
    cache_dir: str
    dry_run: bool = False
    study_dir: str | None = None     # where trials keep their best generator (None: nowhere)
    stopping: tuple[str, ...] = ()   # search entries whose trials a scheduler may stop after any evaluation

    @classmethod
    def from_plan(cls, plan: Plan, cache_dir: str, dry_run: bool, study_dir: str | None = None) -> TrialContext:
        from gansweep.study.stopping import is_active

        s = plan.study
        stopping = tuple(e.name or e.strategy for e in s.search if is_active(getattr(e, "stopping", None)))
        return cls(s.training, s.metrics, s.data, s.resources, cache_dir, dry_run, study_dir, stopping)

    def primary(self, dataset: str) -> str:
        """The metric a trial of ``dataset`` is scored by (the study's, else the data set's default)."""
        from gansweep.metrics import default_primary

        return self.metrics.primary or default_primary(dataset)

    def eval_points(self) -> list[int]:
        """Steps at which a trial evaluates: every ``eval_every`` and at the end."""
        t = self.training
        return [*range(t.eval_every, t.steps, t.eval_every), t.steps]

    def resolve(self, config: dict[str, Any]) -> dict[str, Any]:
        """The fully resolved trial: its config (cell, hyperparameters, seed) with the training,
        metrics and data settings it runs with, options completed with their defaults (a later
        version's defaults cannot change what a stored row means), so that one stored row reruns its trial
        (:func:`gansweep.trial.worker.rerun`). Paths of this machine (cache, study) are left out."""
        import dataclasses

        from gansweep.gan.specs import resolve_options
        from gansweep.metrics.checks import EvalOptions

        training = self.training.model_dump(mode="json")
        training["options"] = resolve_options(config["architecture"], self.training.options)
        metrics = self.metrics.model_dump(mode="json")
        metrics["primary"] = self.primary(config["dataset"])
        metrics["options"] = dataclasses.asdict(EvalOptions.from_mapping(self.metrics.options))
        return {**config, "training": training, "metrics": metrics, "data": self.data.model_dump(mode="json"),
                "dry_run": self.dry_run}

    @classmethod
    def from_resolved(cls, resolved: dict[str, Any], cache_dir: str, study_dir: str | None = None) -> TrialContext:
        """The context a resolved trial (:meth:`resolve`, a stored row's ``config``) ran with,
        validated by the study's own models; run on this machine's CPU."""
        return cls(Training.model_validate(resolved["training"]), Metrics.model_validate(resolved["metrics"]),
                   Data.model_validate(resolved.get("data") or {}), Resources(), cache_dir,
                   bool(resolved.get("dry_run")), study_dir)


def metric_columns(plan: Plan) -> list[str]:
    """Metric columns of the study's store: each metric and ``<m>_std`` for is/kid."""
    from gansweep.metrics import default_primary, result_keys

    names: list[str] = []
    s = plan.study
    for c in plan.cells:
        for m in [s.metrics.primary or default_primary(c.dataset), *s.metrics.extra]:
            if m not in names:
                names.append(m)
    return list(result_keys(names))


class TrialSettings:
    """What studies started before :class:`TrialContext` pickled into Tune's state (the store
    callback's ``resolve``, bound to the old settings): kept so that such a study resumes. Resume
    replaces that callback with a fresh one, so nothing reads or calls it."""

    def resolve(self, config: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("TrialSettings is the unpickled state of an older gansweep; use TrialContext")
