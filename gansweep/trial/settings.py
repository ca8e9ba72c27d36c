"""What every trial of a study shares, sent once through Ray's object store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gansweep.study.plan import Plan


@dataclass(frozen=True)
class TrialSettings:
    steps: int
    eval_every: int
    batch_size: int
    z_dim: int
    width: int
    resolution: int | None
    prior: str
    options: dict[str, Any]
    primary: dict[str, str]          # dataset → primary metric
    extra: list[str]
    samples: int
    inception_weights: str | None
    cache_dir: str
    gpu: float
    cpu: float
    timeout: float | None
    dry_run: bool = False
    data_root: str | None = None
    metric_columns: list[str] = field(default_factory=list)
    metric_options: dict[str, Any] = field(default_factory=dict)
    study_dir: str | None = None     # where trials keep their best generator (None: nowhere)
    stopping: tuple[str, ...] = ()   # search entries whose trials a scheduler may stop after any evaluation

    @classmethod
    def from_plan(cls, plan: Plan, cache_dir: str, dry_run: bool, study_dir: str | None = None) -> TrialSettings:
        from gansweep.metrics import default_primary
        from gansweep.study.stopping import is_active

        s = plan.study
        primary = {c.dataset: s.metrics.primary or default_primary(c.dataset) for c in plan.cells}
        return cls(
            steps=s.training.steps, eval_every=s.training.eval_every, batch_size=s.training.batch_size,
            z_dim=s.training.z_dim, width=s.training.width, resolution=s.training.resolution,
            prior=s.training.prior, options=dict(s.training.options), primary=primary,
            extra=list(s.metrics.extra), samples=s.metrics.samples,
            inception_weights=s.metrics.inception_weights, cache_dir=cache_dir,
            gpu=s.resources.gpu, cpu=s.resources.cpu, timeout=s.training.timeout, dry_run=dry_run,
            data_root=s.data.root, metric_columns=metric_columns(plan),
            metric_options=dict(s.metrics.options), study_dir=study_dir,
            stopping=tuple(e.name or e.strategy for e in s.search if is_active(getattr(e, "stopping", None))),
        )

    def resolve(self, config: dict[str, Any]) -> dict[str, Any]:
        """The fully resolved trial: its config (cell, hyperparameters, seed) with the training,
        metrics and data settings it runs with, so that one stored row reruns its trial
        (:func:`gansweep.trial.worker.rerun`). Paths of this machine (cache, study) are left out."""
        return {
            **config,
            "training": {"steps": self.steps, "eval_every": self.eval_every, "batch_size": self.batch_size,
                         "z_dim": self.z_dim, "width": self.width, "resolution": self.resolution,
                         "prior": self.prior, "options": dict(self.options), "timeout": self.timeout},
            "metrics": {"primary": self.primary[config["dataset"]], "extra": list(self.extra),
                        "samples": self.samples, "options": dict(self.metric_options),
                        "inception_weights": self.inception_weights},
            "data": {"root": self.data_root},
            "dry_run": self.dry_run,
        }

    @classmethod
    def from_resolved(cls, resolved: dict[str, Any], cache_dir: str, study_dir: str | None = None,
                      gpu: float = 0.0, cpu: float = 1.0) -> TrialSettings:
        """The settings a resolved trial (:meth:`resolve`, a stored row's ``config``) ran with."""
        t, m = resolved["training"], resolved["metrics"]
        return cls(
            steps=t["steps"], eval_every=t["eval_every"], batch_size=t["batch_size"], z_dim=t["z_dim"],
            width=t["width"], resolution=t["resolution"], prior=t["prior"], options=dict(t["options"]),
            primary={resolved["dataset"]: m["primary"]}, extra=list(m["extra"]), samples=m["samples"],
            inception_weights=m.get("inception_weights"), cache_dir=cache_dir, gpu=gpu, cpu=cpu,
            timeout=t.get("timeout"), dry_run=bool(resolved.get("dry_run")),
            data_root=(resolved.get("data") or {}).get("root"), metric_options=dict(m.get("options") or {}),
            study_dir=study_dir,
        )

    def eval_points(self) -> list[int]:
        """Steps at which a trial evaluates: every ``eval_every`` and at the end."""
        pts = list(range(self.eval_every, self.steps, self.eval_every))
        return pts + [self.steps]




def metric_columns(plan: Plan) -> list[str]:
    """Metric columns of the study's store: each metric and ``<m>_std`` for is/kid."""
    from gansweep.metrics import default_primary

    names: list[str] = []
    s = plan.study
    for c in plan.cells:
        for m in [s.metrics.primary or default_primary(c.dataset), *s.metrics.extra]:
            if m not in names:
                names.append(m)
    from gansweep.metrics import result_keys

    return list(result_keys(names))
