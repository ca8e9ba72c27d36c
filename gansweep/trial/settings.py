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
