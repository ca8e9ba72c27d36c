"""The torch-free specs and the torch registries name the same components, and a component
cannot be implemented without its spec (the facts code without torch reads)."""

from __future__ import annotations

import pytest

from gansweep.data.specs import DATA_SPECS
from gansweep.gan.specs import ARCH_SPECS, AXIS_SPECS, PENALTY_SPECS, resolve_options
from gansweep.registry import Registry
from gansweep.search.specs import STRATEGY_SPECS


def test_every_spec_has_its_implementation_and_back() -> None:
    from gansweep.data import DATASETS
    from gansweep.gan import ARCHITECTURES, LOSSES, NORMS, PENALTIES
    from gansweep.search.factories import STRATEGIES

    implemented = {"architecture": ARCHITECTURES, "loss": LOSSES, "penalty": PENALTIES, "normalization": NORMS}
    for axis, specs in AXIS_SPECS.items():
        assert implemented[axis].names() == specs.names(), axis
    assert DATASETS.names() == DATA_SPECS.names()
    assert STRATEGIES.names() == STRATEGY_SPECS.names()


def test_an_implementation_without_a_spec_is_refused() -> None:
    registry: Registry[object] = Registry("loss", specs=AXIS_SPECS["loss"])
    registry.add("hinge", object())
    with pytest.raises(ValueError, match="'rsgan' has no spec"):
        registry.add("rsgan", object())


def test_built_models_carry_the_options_of_their_spec() -> None:
    from gansweep.gan import ARCHITECTURES, NORMS, GANConfig

    for name, spec in ARCH_SPECS.items():
        shape = (2,) if spec.kind == "points" else (3, 32, 32)
        cfg = GANConfig(architecture=name, width=8, z_dim=8, options={})
        g, _ = ARCHITECTURES[name](cfg, shape, 0, NORMS["none"])
        assert g.options == resolve_options(name, {}) == dict(spec.options), name


def test_gradient_penalties_are_the_ones_that_differentiate_the_input_gradient() -> None:
    assert {n for n, s in PENALTY_SPECS.items() if s.input_gradient} == {"gp", "dragan", "r1"}
    assert PENALTY_SPECS["none"].default_weight == 0.0
