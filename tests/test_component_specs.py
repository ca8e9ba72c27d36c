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


def test_the_grid_axes_make_the_schema_the_cell_and_the_columns() -> None:
    """One axis registry: the study's grid, the plan's cells, the store's columns and their
    defaults are made from it (the values an old study file and store hold unchanged)."""
    from dataclasses import fields

    from gansweep.gan.specs import AXES, GRID_AXES
    from gansweep.store import trial_columns
    from gansweep.study.plan import Cell
    from gansweep.study.schema import Grid

    assert AXES == ("dataset", "architecture", "loss", "penalty", "normalization")
    assert tuple(Grid.model_fields) == AXES
    assert Grid().model_dump() == {"dataset": ["digits"], "architecture": ["dcgan"], "loss": ["ns"],
                                   "penalty": ["none"], "normalization": ["none"]}
    assert tuple(f.name for f in fields(Cell) if f.name != "parts") == AXES
    assert Cell(*(a.default for a in GRID_AXES.values())).id == "digits.dcgan.ns.none.none"
    assert trial_columns([], []).names[3:8] == list(AXES)


def test_hyperparameter_and_data_facts_have_one_source() -> None:
    from gansweep.gan import GANConfig
    from gansweep.gan.specs import DEFAULT_HPS, HP_SPECS
    from gansweep.study.cost import image_shape
    from gansweep.study.schema import HYPERPARAMETERS, PAPER_HPS

    assert list(HYPERPARAMETERS) == list(HP_SPECS) == ["lr", "lr_g", "beta1", "beta2", "n_disc", "penalty_weight", "pack"]
    assert PAPER_HPS == ("lr", "beta1", "beta2", "n_disc", "penalty_weight")
    assert dict(DEFAULT_HPS) == {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_disc": 1}
    cfg = GANConfig(architecture="dcgan")
    assert (cfg.lr, cfg.beta1, cfg.beta2, cfg.n_disc, cfg.pack) == (2e-4, 0.5, 0.999, 1, 1)
    assert image_shape("digits", None) == (1, 16) and image_shape("cifar10", None) == (3, 32)
    assert image_shape("lsun_bedroom", 64) == (3, 64) and image_shape("ring8", None) is None
