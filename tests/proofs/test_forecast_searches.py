"""The forecast against real KerasTuner searches, seed by seed and over many seeds (with the proofs)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_tuner as kt
import numpy as np
import pytest
from hypermodels.guide import guide_grid
from keras_tuner.src.engine.hypermodel import get_hypermodel

from pytest_hypermodel.probe.oracle import (
    random_draws,
)
from pytest_hypermodel.rules.abort_rules import (
    judge_draws,
)
from pytest_hypermodel.rules.policy import Policy
from tests.kerastuner_made import real_aborts


def _guide_preflight():
    from pathlib import Path

    from pytest_hypermodel.probe.prepare import PlanOptions, prepare_target
    from pytest_hypermodel.space.target import Target

    hypermodel = get_hypermodel(guide_grid())
    return prepare_target(
        Target("guide", Path("guide.py"), "guide", hypermodel), PlanOptions(tuner="RandomSearch", max_trials=10)
    )


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
def test_the_random_forecast_is_kerastuner_s_own_search_seed_by_seed(tmp_path) -> None:
    """The guide's grid fails at 5 of its 12 points (2 of them inside the ranges, which no corner case runs):
    built whole, the space tells each draw's fate, and KerasTuner's oracle, driven seed by seed, aborts at exactly
    the seeds a real RandomSearch aborts at."""
    from pytest_hypermodel.probe import screen
    from pytest_hypermodel.rules.culprits import off_defaults
    from pytest_hypermodel.rules.forecasts.judging import predicate
    from pytest_hypermodel.rules.record import records

    pre = _guide_preflight()
    # The 12 points: the cases run some, the rest are built once without a fit.
    assert pre.screen.whole and len(pre.screen.results) + len(pre.plan) == 12
    planned = [pre.space.complete(case.values) for case in pre.plan]
    failing = [r.values for r in screen.check(pre.target.hypermodel, pre.space, planned).failures]
    assert sorted((v["units_1"], v["units_2"]) for v in failing + [r.values for r in pre.screen.failures]) == [
        (30, 20),
        (30, 30),
        (40, 10),
        (40, 20),
        (40, 30),
    ]
    cases = records(
        {"values": v, "disposition": "failed" if v in failing else "completed", "params": None if v in failing else 1}
        for v in planned
    )  # as the cases report them
    judge = predicate(cases, pre.space, pre.screen, Policy())
    seeds = range(10, 22)
    draws = random_draws(pre.space, 10, seeds=seeds)
    driven = judge_draws(draws, lambda v: judge(off_defaults(v, pre.space)), Policy())

    x, y = np.zeros((8, 20), "float32"), np.zeros((8, 1), "float32")
    aborted = real_aborts(guide_grid(run_eagerly=True), x, y, seeds, tmp_path)
    assert aborted and driven.aborted == aborted


@pytest.mark.proof
def test_values_that_fail_inside_a_range_are_planned_and_abort_the_search_where_kerastuner_does(tmp_path) -> None:
    """Values that fail inside a range: heads 3, 5, 6 and 7 fail inside 1..8 (they do not divide the units), which
    no extreme or corner holds. The default plan runs them, the builds without a fit tell the rest of the 32
    configurations, and KerasTuner's oracle, driven seed by seed, aborts at exactly the seeds a real RandomSearch
    aborts at."""
    from pathlib import Path

    from hypermodels.thresholds import heads_and_units

    from pytest_hypermodel.probe import screen
    from pytest_hypermodel.probe.prepare import PlanOptions, prepare_target
    from pytest_hypermodel.rules.culprits import off_defaults
    from pytest_hypermodel.rules.forecasts.judging import predicate
    from pytest_hypermodel.rules.record import records
    from pytest_hypermodel.space.target import Target

    pre = prepare_target(
        Target("heads", Path("heads.py"), "heads", get_hypermodel(heads_and_units)),
        PlanOptions(tuner="RandomSearch", max_trials=10),
    )
    interior = [case for case in pre.plan if case.kind == "interior"]
    assert {case.values["heads"] for case in interior if case.varied == ("heads",)} == set(range(2, 8))
    planned = [pre.space.complete(case.values) for case in pre.plan]
    failing = [r.values for r in screen.check(pre.target.hypermodel, pre.space, planned).failures]
    assert {v["heads"] for v in failing} == {3, 5, 6, 7}
    assert pre.screen.whole and len(pre.screen.results) + len(planned) == 32
    cases = records(
        {"values": v, "disposition": "failed" if v in failing else "completed", "params": None if v in failing else 1}
        for v in planned
    )
    judge = predicate(cases, pre.space, pre.screen, Policy())
    seeds = range(10, 22)
    driven = judge_draws(
        random_draws(pre.space, 10, seeds=seeds), lambda v: judge(off_defaults(v, pre.space)), Policy()
    )
    x, y = np.zeros((8, 8), "float32"), np.zeros((8, 1), "float32")
    aborted = real_aborts(heads_and_units, x, y, seeds, tmp_path)
    assert aborted and driven.aborted == aborted


@pytest.mark.proof
def test_the_forecast_of_a_space_mostly_over_max_model_size_is_near_real_searches(tmp_path) -> None:
    """The plan's share of failures is not the space's: 77% of oversized_widths is over max_model_size, and of its
    extremes and corners only the widest corner (a 25% share, which once forecast a 29% risk). The builds without a
    fit measure the space's share; the forecast is within 15 points of the share of 30 real RandomSearch searches
    that abort."""
    import random

    from hypermodels.thresholds import MAX_MODEL_SIZE, oversized_widths

    from pytest_hypermodel import preflight

    x, y = np.zeros((32, 8), "float32"), np.zeros((32, 1), "float32")
    policy = Policy(max_model_size=MAX_MODEL_SIZE)
    result = preflight(
        oversized_widths,
        x,
        y,
        epochs=1,
        max_trials=10,
        boundaries=False,
        rootpath=tmp_path,
        isolation="off",
        policy=policy,
    )
    forecast = result.forecast
    assert forecast["screen"]["built"] >= 20 and "of the draws built without a fit" in forecast["message"]
    seeds = random.Random(3).sample(range(1, 10001), 30)
    aborted = 0
    for seed in seeds:
        tuner = kt.RandomSearch(
            oversized_widths,
            objective="loss",
            max_trials=10,
            seed=seed,
            directory=tmp_path,
            project_name=f"seed{seed}",
            max_model_size=MAX_MODEL_SIZE,
        )
        try:
            tuner.search(x, y, epochs=1, verbose=0)
        except RuntimeError as exc:
            assert "consecutive failures" in str(exc)
            aborted += 1
    assert abs(forecast["abort_probability"] - aborted / len(seeds)) <= 0.15, (forecast["message"], aborted)
    assert forecast["fails_run"]
