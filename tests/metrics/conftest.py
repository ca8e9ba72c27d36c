"""Shared fixtures: one CPU thread, a session-wide metrics cache, stand-in trainers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def metrics_cache(tmp_path_factory):
    """One cache directory for the session: the digits classifier is trained once."""
    return tmp_path_factory.mktemp("metrics-cache")


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """Never reach the network; torch-fidelity's download location is an empty temp dir."""
    monkeypatch.setenv("GANSWEEP_OFFLINE", "1")
    monkeypatch.delenv("GANSWEEP_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


class FixedTrainer:
    """A trainer whose ``sample(n)`` hands out consecutive rows of fixed data (cycling); counts calls."""

    def __init__(self, data: torch.Tensor, z_dim: int = 2) -> None:
        self.data = data
        self.pos = 0
        self.calls = 0
        self.cfg = SimpleNamespace(z_dim=z_dim)
        self.generator = torch.nn.Identity()

    def sample(self, n: int) -> torch.Tensor:
        self.calls += 1
        idx = torch.arange(self.pos, self.pos + n) % len(self.data)
        self.pos = (self.pos + n) % len(self.data)
        return self.data[idx]

    def draw_z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.z_dim)


@pytest.fixture
def fixed_trainer():
    return FixedTrainer
