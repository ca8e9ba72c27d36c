"""The dry-run trial: an analytic FID-like surface of the hyperparameters, in milliseconds.

It lets a user rehearse a 10,000-trial study (search, Ray, store, resume, plots) on a laptop, and
gives the searchers a known optimum to find. Per cell, the score is a base level set by the
cell's choices (spectral norm and gradient penalty help, as the paper found) plus quadratic
bowls in log10(lr), β1, β2, log10(λ), a step for the wrong n_disc, multiplicative noise, and a
chance of divergence that grows with the learning rate. ``seconds`` is *simulated* compute
(gradient penalties cost 2× per step), so score-vs-compute plots show the paper's trade-off.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gansweep.gan.specs import AXIS_SPECS, PENALTY_SPECS
from gansweep.status import Status

BASE = 40.0
STEP_SECONDS = 0.05  # simulated seconds per generator step


def optimum(cell: dict[str, Any]) -> dict[str, float]:
    """Where the surface is lowest for a cell."""
    return {
        "log_lr": -3.3 if cell["normalization"] == "sn" else -3.7,
        "beta1": 0.5,
        "beta2": 0.95,
        "n_disc": 5.0 if cell["loss"] == "wgan" or cell["penalty"] != "none" else 1.0,
        "log_weight": 1.0,
    }


def final_score(config: dict[str, Any]) -> float:
    """The noiseless score the trial converges to."""
    hp, opt = config["hp"], optimum(config)
    base = BASE + sum(specs[config[axis]].dry_run for axis, specs in AXIS_SPECS.items())
    bowl = 15.0 * (math.log10(hp["lr"]) - opt["log_lr"]) ** 2
    bowl += 12.0 * (hp["beta1"] - opt["beta1"]) ** 2 + 10.0 * (hp["beta2"] - opt["beta2"]) ** 2
    bowl += 4.0 * (hp["n_disc"] != opt["n_disc"])
    if "penalty_weight" in hp and config["penalty"] != "none":
        bowl += 3.0 * (math.log10(max(hp["penalty_weight"], 1e-12)) - opt["log_weight"]) ** 2
    return max(base, 1.0) + bowl


def divergence_probability(config: dict[str, Any]) -> float:
    p = 1.0 / (1.0 + math.exp(-4.0 * (math.log10(config["hp"]["lr"]) + 2.3)))
    return 0.5 * p if config["normalization"] == "sn" else p


def simulate(config: dict[str, Any], eval_points: list[int], primary: str) -> tuple[list[dict[str, Any]], str]:
    """Evaluation records and final status (``completed`` or ``diverged``) of one trial.

    The training seed draws the trial's own level (seed variance: 5 % log-normal) and whether it
    diverges; each evaluation adds noise (2 %) from the evaluation stream, which is the training
    seed's unless the config names an ``eval_seed`` (a confirmation's fresh stream)."""
    rng = np.random.default_rng(config["seed"])
    eval_seed = config.get("eval_seed")
    final = final_score(config) * math.exp(0.05 * rng.standard_normal())
    start = final * 4.0 + 50.0
    total = eval_points[-1]
    diverge_at = total + 1
    if rng.random() < divergence_probability(config):
        diverge_at = int(rng.integers(1, total + 1))
    cost = STEP_SECONDS * (2.0 if PENALTY_SPECS[config["penalty"]].input_gradient else 1.0)
    cost *= config["hp"].get("n_disc", 1)
    noise = rng if eval_seed is None else np.random.default_rng(eval_seed)
    records = []
    for step in eval_points:
        if step >= diverge_at:
            return records, Status.DIVERGED
        value = final + (start - final) * math.exp(-4.0 * step / total)
        value *= math.exp(0.02 * noise.standard_normal())
        records.append({"step": step, "seconds": step * cost, primary: value})
    return records, Status.COMPLETED
