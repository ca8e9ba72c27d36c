"""What a study may ask of the metrics, checked without torch: their options and applicability.

``gansweep validate``, ``status`` and the plan call :func:`check_metrics` and
:meth:`EvalOptions.from_mapping` (a pydantic model) on every study; the networks (:mod:`gansweep.metrics.evaluator`)
are imported only where a metric is computed or the Inception weights are looked for.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from gansweep.errors import GansweepError
from gansweep.metrics import specs as S


MAX_OPTION = 10_000_000  # beyond it a count or a rate is a typo (an evaluation would never end)


def abbreviate(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}… ({len(text)} characters)"


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid", strict=True))
class EvalOptions:
    """Tunables of the metrics; defaults are the published protocols (torch-fidelity's for IS/KID).

    Validated when made (pydantic): each a positive number of its field's type, finite and at most
    :data:`MAX_OPTION`; an integral float is taken for an integer, a boolean for neither."""

    batch_size: int = 200
    is_splits: int = 10  # torch-fidelity's protocol
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    prc_neighborhood: int = 3  # Kynkäänniemi et al. (2019)
    msssim_pairs: int = 1000
    recon_images: int = 256
    recon_steps: int = 200
    recon_lr: float = 0.01

    @field_validator("*", mode="before")
    @classmethod
    def _positive(cls, value: Any, info: ValidationInfo) -> float:
        kind = float if isinstance(cls.__dataclass_fields__[info.field_name].default, float) else int
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not (math.isfinite(value) and (kind is float or value.is_integer()))
        ) or not 0 < value <= MAX_OPTION:
            raise ValueError(f"must be a positive {kind.__name__} (finite, at most {MAX_OPTION:,}), "
                             f"got {abbreviate(value)}")
        return kind(value)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> EvalOptions:
        """Options from a mapping, refused in one line: an unknown key (with did-you-mean) or a value
        outside its rule."""
        options = dict(options or {})
        names = [f.name for f in dataclasses.fields(cls)]
        for key in options:
            if key not in names:
                hint = difflib.get_close_matches(str(key), names, n=1)
                did = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise GansweepError(f"unknown metrics option {key!r}{did}; choose from {', '.join(names)}")
        try:
            return cls(**options)
        except ValidationError as exc:
            e = exc.errors()[0]
            raise GansweepError(f"metrics option {e['loc'][0]} {e['msg'].removeprefix('Value error, ')}") from None


def applicable(names: list[str], dataset_kind: str, dataset_name: str | None) -> list[S.MetricSpec]:
    if dataset_kind not in (S.IMAGE, S.POINTS):
        raise GansweepError(f"unknown data kind {dataset_kind!r}; expected image or points")
    specs = [S.METRICS[name] for name in names]
    where = f"data set {dataset_name!r}" if dataset_name else f"{dataset_kind} data"
    for spec in specs:
        if dataset_kind not in spec.kinds:
            allowed = " or ".join(sorted(spec.kinds))
            raise GansweepError(f"metric {spec.name!r} applies to {allowed} data sets, not to {where} ({dataset_kind})")
        own = sorted(S.EMBEDDED_DATASETS - S.POINT_DATASETS)  # image sets with a classifier of their own: digits
        if spec.name == S.KEY_FD and dataset_kind == S.IMAGE and dataset_name not in (None, *own):
            raise GansweepError(
                f"metric 'fd' on images is defined for {', '.join(map(repr, own))} only (its classifier's feature "
                f"space), not for {where}; use 'fid'"
            )
    return specs


def needs_inception(specs: list[S.MetricSpec], dataset_kind: str) -> bool:
    return dataset_kind == S.IMAGE and any(spec.inception for spec in specs)


def check_metrics(
    names: list[str], dataset_kind: str, inception_weights: str | None, *, dataset_name: str | None = None,
    weights: bool = True,
) -> None:
    """Refuse, with one line, metrics a study cannot compute — before anything runs.

    Unknown names (with did-you-mean), metrics that do not apply to ``dataset_kind`` (``image`` or
    ``points``), ``fd`` on images other than ``digits`` (when ``dataset_name`` is given), an
    explicit weights path that does not exist, and Inception metrics with no weights file found
    offline (see :mod:`gansweep.metrics.inception` for where it is looked for).
    """
    specs = applicable(list(names), dataset_kind, dataset_name)
    if not weights or not needs_inception(specs, dataset_kind):  # dry runs and readers need no weights
        return
    from gansweep.metrics import inception as inc  # torch: only where the weights are looked for

    if inc.find_inception_weights(inception_weights) is None and not inc.is_online():
        which = ", ".join(s.name for s in specs if s.inception)
        raise GansweepError(
            f"metrics {which} need the Inception-v3 weights and none were found offline: {inc.where_to_put_it()}"
        )
