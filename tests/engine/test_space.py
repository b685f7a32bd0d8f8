"""Search-space discovery and the extremes plan, on real KerasTuner hyperparameters."""

from __future__ import annotations

import keras
import keras_tuner as kt
import pytest
from keras import layers

from pytest_hypermodel.probe.discovery import discover
from pytest_hypermodel.space import plan
from pytest_hypermodel.space.hyperparameters import SpaceError

pytestmark = pytest.mark.usefixtures("frozen_heap")


def hypermodel(build):
    from keras_tuner.src.engine.hypermodel import DefaultHyperModel

    return DefaultHyperModel(build)


def _model(units=1):
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(int(units))])
    model.compile(loss="mse")
    return model


def test_step_and_log_extremes_are_the_values_the_tuner_produces():
    def build(hp):
        hp.Int("stepped", 10, 45, step=10)  # tops out at 40
        hp.Int("plain", 3, 7)
        hp.Float("rate", 1e-4, 1e-1, sampling="log")  # no step: the bounds
        hp.Float("drop", 0.1, 0.5, step=0.2)
        hp.Int("batch", 2, 32, step=2, sampling="log")
        return _model()

    space = discover(hypermodel(build))
    by = space.by_name
    assert by["stepped"].levels == (10, 40)
    assert by["plain"].levels == (3, 7)
    assert by["rate"].levels == (1e-4, 1e-1)
    assert by["drop"].levels == (0.1, 0.5)
    # KerasTuner's quirk: Int with step and log sampling yields floats, which GridSearch passes on.
    assert by["batch"].levels == (2.0, 32.0) and isinstance(by["batch"].levels[1], float)
    assert "yields floats" in by["batch"].note
    grid_values = list(kt.HyperParameters.from_config(space.kt_config).space[4].values)
    assert grid_values[-1] == by["batch"].levels[1]


def test_log_int_floats_are_probed_as_the_tuner_passes_them():
    def build(hp):
        units = hp.Int("units", 2, 8, step=2, sampling="log")
        model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(units)])  # Dense(8.0) raises
        model.compile(loss="mse")
        return model

    cases = plan.cases(discover(hypermodel(build)), (plan.EXTREMES, plan.CORNERS))
    assert [c.id for c in cases] == ["defaults", "units=8.0"]
    assert cases.cases[1].values["units"] == 8.0 and isinstance(cases.cases[1].values["units"], float)


def test_conditional_scope_is_varied_only_where_active():
    def build(hp):
        kind = hp.Choice("kind", ["mlp", "linear"])
        with hp.conditional_scope("kind", ["mlp"]):
            if kind == "mlp":
                hp.Int("hidden", 4, 16, step=4)
        return _model()

    space = discover(hypermodel(build))
    assert space.by_name["hidden"].conditions[0].parent == "kind"
    ids = [c.id for c in plan.cases(space, (plan.EXTREMES,))]
    assert ids == ["defaults", "kind=linear", "hidden=16"]
    linear = next(c for c in plan.cases(space) if c.id == "kind=linear")
    assert "hidden" not in linear.values  # inactive values are not passed, as in a trial


def test_dynamic_hyperparameters_are_found_by_rebuilding():
    def build(hp):
        model = keras.Sequential([keras.Input(shape=(2,))])
        for i in range(hp.Int("num_layers", 1, 4)):
            model.add(layers.Dense(hp.Int(f"units_{i}", 1, 8)))
        model.compile(loss="mse")
        return model

    space = discover(hypermodel(build))
    assert [p.name for p in space] == ["num_layers", "units_0", "units_1", "units_2", "units_3"]
    assert space.by_name["units_3"].dynamic
    assert space.by_name["units_3"].conditions[0].parent == "num_layers"
    for strategy in (plan.EXTREMES, plan.CORNERS):
        ids = [c.id for c in plan.cases(space, (strategy,))]
        assert any(i.startswith("num_layers=4") and "units_3=8" in i for i in ids), (strategy, ids)
    assert "num_layers=4-units_3=8" in [c.id for c in plan.cases(space, (plan.EXTREMES,))]


def test_plan_is_deterministic_and_deduplicated():
    def build(hp):
        hp.Int("a", 1, 3, default=1)
        hp.Boolean("flag")
        hp.Fixed("fixed", 7)
        return _model()

    first = [c.to_dict() for c in plan.cases(discover(hypermodel(build)))]
    second = [c.to_dict() for c in plan.cases(discover(hypermodel(build)))]
    assert first == second
    # The extremes and corners, then the interior: a=2 (inside its range), and no draw twice or as another case.
    assert [c["id"] for c in first] == ["defaults", "a=3", "flag=True", "a=3-flag=True", "a=2", "a=2-flag=True"]
    assert [c["kind"] for c in first] == ["default", "extreme", "choice", "corner", "interior", "interior"]


def test_min_above_max_is_a_space_error():
    def build(hp):
        hp.Float("rate", 0.5, 0.1)
        return _model()

    with pytest.raises(SpaceError, match=r"min_value is greater than max_value; swap them"):
        discover(hypermodel(build))


def test_unknown_strategy_names_the_allowed_ones():
    with pytest.raises(
        plan.PlanError, match="unknown strategy nope: use one of default, extremes, corners, interior, grid"
    ):
        plan.parse_strategies("extremes,nope")


def test_fingerprint_is_stable_and_tells_spaces_and_policies_apart():
    from pytest_hypermodel.rules.policy import Policy
    from pytest_hypermodel.rules.verdict import fingerprint

    def build(hp):
        hp.Int("a", 1, 3)
        return _model()

    def other(hp):
        hp.Int("a", 1, 4)
        return _model()

    config = discover(hypermodel(build)).kt_config
    first = fingerprint(config, Policy())
    assert first == fingerprint(discover(hypermodel(build)).kt_config, Policy())
    assert first != fingerprint(discover(hypermodel(other)).kt_config, Policy())
    assert first != fingerprint(config, Policy(max_retries_per_trial=1))


def test_a_discovery_build_that_fails_early_is_said_with_what_it_did_not_reach():
    """A value whose build fails before the rest of the declarations (a weight download, say) hides what it would
    declare next: discovery says so instead of planning silently without it."""

    def build(hp):
        if hp.Choice("weights", ["none", "imagenet"]) == "imagenet":
            raise OSError("URL fetch failure on https://storage.googleapis.com/weights.h5")
        hp.Float("dropout", 0.0, 0.5)
        return _model(hp.Int("units", 1, 4))

    def fails_late(hp):
        model = _model(hp.Int("units", 1, 40))
        if hp.get("units") > 20:
            raise ValueError("Model too large!")  # after every declaration: nothing is hidden
        return model

    space = discover(hypermodel(build))
    assert space.unfinished == (
        "weights='imagenet' failed (OSError: URL fetch failure on https://storage.googleapis.com/weights.h5) "
        "before reading dropout, units",
    )
    assert space.warnings == ()  # most such values genuinely fail: the plan lists them (--hypermodel-plan)
    assert discover(hypermodel(fails_late)).unfinished == ()

    def fails_at_defaults(hp):
        hp.Choice("version", ["B0", "B1"])
        raise OSError("URL fetch failure on https://storage.googleapis.com/efficientnetb0.h5")

    assert discover(hypermodel(fails_at_defaults)).warnings == (
        "the build with the default values failed (OSError: URL fetch failure on "
        "https://storage.googleapis.com/efficientnetb0.h5): discovery found only the hyperparameters declared before "
        "that point (version); any declared after it is missing from the plan",
    )


def test_an_int_range_of_a_billion_values_is_discovered_without_listing_them():
    """KerasTuner gives every Int a step (1): its values were listed to find the last one, 8 GB for 10^9 of them."""
    import time
    import tracemalloc

    def build(hp):
        hp.Int("seed", 0, 10**9)
        hp.Int("odd", 1, 10**9, step=7)
        hp.Float("scaled", 1.0, 2.0**40, step=1.0001, sampling="log")  # 277,000 values, each 1.0001 times the last
        return _model()

    started = time.perf_counter()
    tracemalloc.start()
    try:
        space = discover(hypermodel(build))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 30 and peak < 64 * 2**20
    assert space.by_name["seed"].levels == (0, 10**9)
    assert space.by_name["odd"].levels == (1, 1 + (10**9 - 1) // 7 * 7)
    low, high = space.by_name["scaled"].levels
    assert low == 1 and 2**40 / 1.0001 <= high <= 2**40
