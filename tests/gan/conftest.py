"""Shared fixtures: one thread (the test machine is shared), tiny data sets loaded once."""

from __future__ import annotations

import pytest
import torch

from gansweep.data import load_dataset

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def ring8():
    return load_dataset("ring8")


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")
