"""The tracking targets ``--log-to`` names: :data:`BACKENDS`, one class each (base.py has their contract)."""

from __future__ import annotations

from gansweep.driver.tracking.base import Backend
from gansweep.driver.tracking.mlflow_target import MLflowBackend
from gansweep.driver.tracking.wandb_target import WandbBackend

__all__ = ["BACKENDS", "Backend", "MLflowBackend", "WandbBackend"]

BACKENDS: dict[str, type[Backend]] = {b.name: b for b in (MLflowBackend, WandbBackend)}
