"""The forecast against KerasTuner itself: run a real GridSearch, then predict it without running it.

Each scenario is a tiny real hypermodel run by ``keras_tuner.GridSearch`` under
a policy; the same policy's forecast comes from probing each grid trial with
``pytest_hypermodel.probe.fit.run`` (no tuner involved). Both must agree on every
trial's final status, on how many times each configuration was built, and on
whether and where the search dies.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import keras_tuner as kt
import numpy as np
import pytest
from hypermodels.guide import guide_grid
from keras import layers, ops
from keras_tuner.src.engine.hypermodel import get_hypermodel

from pytest_hypermodel.probe import fit as probe
from pytest_hypermodel.probe.discovery import discover
from pytest_hypermodel.probe.oracle import (
    constructor_forecast,
    forecast_grid,
    grid_order,
    random_draws,
)
from pytest_hypermodel.rules.abort_rules import (
    COMPLETED,
    FAILED,
    FATAL,
    REASON_CONSECUTIVE,
    REASON_DEFAULT_BUILD,
    REASON_FATAL,
    Forecast,
    forecast_sequence,
    judge_draws,
)
from pytest_hypermodel.rules.policy import Disposition, Policy
from pytest_hypermodel.space.plan import Case
from tests.kerastuner_made import real_aborts

pytestmark = pytest.mark.usefixtures("no_memory_growth", "frozen_heap")

SAMPLES = 16  # one batch: one step per epoch, so an epoch's loss is one step's


# --------------------------------------------------------------------------- hypermodels


def _compile(model: keras.Model) -> keras.Model:
    # Eager: a one-step fit is faster than tracing it.
    model.compile(loss="mse", optimizer="sgd", run_eagerly=True)
    return model


# The failed-trials guide's grid: 12 trials, 5 of them over 1200 parameters (0007, 0008, 0009, 0010, 0011).
guide_value_error = guide_grid(ValueError, run_eagerly=True)
guide_failed_trial = guide_grid(kt.errors.FailedTrialError, run_eagerly=True)
guide_fatal = guide_grid(kt.errors.FatalError, run_eagerly=True)
guide_plain = guide_grid(
    None, run_eagerly=True
)  # no error of its own: KerasTuner's max_model_size refuses the big ones


class NaNInLoss(layers.Layer):
    """Adds a NaN to the training loss during steps [start, stop), leaving the gradients (and weights) finite."""

    def __init__(self, start: int = 0, stop: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = start, stop

    def build(self, input_shape):
        self.step = self.add_weight(shape=(), initializer="zeros", trainable=False, name="step")

    def call(self, x, training=None):
        if training:
            bad = ops.logical_and(self.step >= self.start, self.step < self.stop)
            self.add_loss(ops.stop_gradient(ops.where(bad, float("nan"), 0.0)))
            self.step.assign(self.step + 1.0)
        return x


#: Which epochs' loss is NaN, per choice (one step per epoch).
NAN_EPOCHS = {"none": (0, 0), "late": (1, 2), "early": (0, 1), "always": (0, 99)}


def nan_losses(hp):
    """``none``: finite; ``late``: NaN in epoch 2 only; ``early``: NaN in epoch 1 only;
    ``always``: NaN throughout; ``log``: keras.ops.log of negative numbers, NaN throughout."""
    mode = hp.Choice("nan", ["none", "late", "early", "always", "log"])
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    if mode == "log":
        model.add(layers.Lambda(lambda t: ops.log(t - 100.0)))
    else:
        model.add(NaNInLoss(*NAN_EPOCHS[mode]))
    model.add(layers.Dense(1))
    return _compile(model)


def bad_default(hp):
    """The default activation is not one Keras knows: every trial at it would fail, but the constructor dies first."""
    activation = hp.Choice("activation", ["swishy", "relu"])
    return _compile(keras.Sequential([keras.Input((4,)), layers.Dense(2, activation=activation), layers.Dense(1)]))


def bad_conditional(hp):
    """Healthy at the defaults; the 'conv' branch cannot build, and the constructor builds it to find `filters`."""
    arch = hp.Choice("arch", ["mlp", "conv"])
    inputs = keras.Input((4,))
    x = inputs
    with hp.conditional_scope("arch", ["conv"]):
        filters = hp.Int("filters", 4, 8, step=4)
        if arch == "conv":
            x = layers.Conv1D(filters, 3)(x)  # a 2D input: ValueError
    return _compile(keras.Model(inputs, layers.Dense(1)(layers.Dense(2)(x))))


class FailsInFit(layers.Layer):
    """Builds fine, raises as soon as it is trained."""

    def call(self, x, training=None):
        if training:
            raise RuntimeError("this layer cannot be trained")
        return x


def conditional(hp):
    """A conditional width; the 'wide' branch fails in fit (a plain error) above 16.

    In fit, not in build: the constructor builds the 'wide' scope with a random
    width, and a build error there would crash it one time in three (see
    test_constructor_draws_conditional_values_at_random).
    """
    bias = hp.Boolean("bias")
    arch = hp.Choice("arch", ["mlp", "wide"])
    model = keras.Sequential([keras.Input((4,))])
    with hp.conditional_scope("arch", ["wide"]):
        width = hp.Int("width", 8, 24, step=8)
        if arch == "wide":
            model.add(layers.Dense(width, use_bias=bias))
            if width > 16:
                model.add(FailsInFit())
    if arch == "mlp":
        model.add(layers.Dense(2, use_bias=bias))
    model.add(layers.Dense(1))
    return _compile(model)


def conditional_crash(hp):
    """The 'wide' branch raises in build above 16: a crash only if the constructor draws width 24."""
    arch = hp.Choice("arch", ["mlp", "wide"])
    with hp.conditional_scope("arch", ["wide"]):
        width = hp.Int("width", 8, 24, step=8)
        if arch == "wide" and width > 16:
            raise RuntimeError(f"width {width} does not fit")
    return _compile(keras.Sequential([keras.Input((4,)), layers.Dense(2), layers.Dense(1)]))


def dynamic(hp):
    """``units_{i} for i < num_layers``: KerasTuner learns units_1 and units_2 only when a trial reads them."""
    num_layers = hp.Int("num_layers", 1, 3)
    model = keras.Sequential([keras.Input((4,))])
    for i in range(num_layers):
        model.add(layers.Dense(hp.Choice(f"units_{i}", [4, 8])))
    if num_layers == 3 and hp.get("units_2") == 8:
        raise ValueError("three layers ending at 8 units are refused")
    model.add(layers.Dense(1))
    return _compile(model)


def log_int(hp):
    """An Int with log sampling and a step: GridSearch passes 4.0 and 8.0, which Dense refuses unless cast."""
    units = hp.Int("units", 2, 8, step=2, sampling="log")
    cast = hp.Boolean("cast")
    return _compile(
        keras.Sequential(
            [
                keras.Input((4,)),
                layers.Dense(int(units) if cast else units),
                layers.Dense(1),
            ]
        )
    )


# --------------------------------------------------------------------------- running both


def _key(values: dict) -> tuple:
    return tuple(sorted(values.items()))


class Counted:
    """A build function that counts its calls by the values it built with (failed builds included)."""

    def __init__(self, build: Callable) -> None:
        self.build = build
        self.counts: Counter = Counter()
        self.hypermodel = get_hypermodel(self)

    def __call__(self, hp):
        try:
            return self.build(hp)
        finally:
            self.counts[_key(hp.values)] += 1


@dataclass
class Real:
    """What the real GridSearch did."""

    constructor_error: BaseException | None = None
    error: BaseException | None = None
    ids: list[str] = field(default_factory=list)
    values: list[dict] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    builds: list[int] = field(default_factory=list)

    @property
    def abort_trial(self) -> int | None:
        return len(self.ids) - 1 if self.error is not None else None


def run_real(
    build: Callable, policy: Policy, directory, epochs: int = 1, max_trials: int | None = None, inputs: int = 20
) -> Real:
    counted = Counted(build)
    rng = np.random.default_rng(0)
    x = rng.random((SAMPLES, inputs)).astype("float32")
    y = rng.random((SAMPLES, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    real = Real()
    try:
        tuner = kt.GridSearch(
            counted.hypermodel,
            objective="loss",
            max_trials=max_trials,
            directory=str(directory),
            project_name="real",
            overwrite=True,
            max_retries_per_trial=policy.max_retries_per_trial,
            max_consecutive_failed_trials=policy.max_consecutive_failed_trials,
            max_model_size=policy.max_model_size,
        )
    except Exception as exc:  # the constructor's own builds
        real.constructor_error = exc
        return real
    counted.counts.clear()  # the constructor's builds are not trials
    try:
        tuner.search(x, y, epochs=epochs, verbose=0)
    except (RuntimeError, kt.errors.FatalError) as exc:
        real.error = exc
    for tid in tuner.oracle.start_order:
        trial = tuner.oracle.trials[tid]
        real.ids.append(tid)
        real.values.append(dict(trial.hyperparameters.values))
        status = trial.status
        if status == "RUNNING":  # a FatalError left it there: it never reached end_trial
            assert isinstance(real.error, kt.errors.FatalError) and tid == tuner.oracle.start_order[-1]
            status = FATAL
        real.statuses.append(status)
        real.builds.append(counted.counts[_key(trial.hyperparameters.values)])
    return real


#: Probe results, shared by the policies of one scenario: (scenario, max_model_size, values) -> Result.
PROBED: dict[tuple, probe.Result] = {}
SPACES: dict[str, tuple] = {}


def hypermodel_and_space(name: str, build: Callable):
    if name not in SPACES:
        counted = Counted(build)
        SPACES[name] = (counted.hypermodel, discover(counted.hypermodel))
    return SPACES[name]


def probe_result(name: str, build: Callable, values: dict, policy: Policy, epochs: int) -> probe.Result:
    hypermodel, space = hypermodel_and_space(name, build)
    key = (name, policy.max_model_size, _key(values))
    if key not in PROBED:
        settings = probe.FitSettings(epochs=epochs, samples=SAMPLES, seed=0)
        PROBED[key] = probe.run(hypermodel, space, Case("trial", "trial", values), policy, settings)
    return PROBED[key]


def predict(name: str, build: Callable, policy: Policy, epochs: int = 1, max_trials: int | None = None) -> Forecast:
    """The forecast, without a tuner: KerasTuner's grid order, each trial probed, KerasTuner's rules."""
    hypermodel, space = hypermodel_and_space(name, build)
    return forecast_grid(
        space,
        lambda values: policy.disposition(probe_result(name, build, values, policy, epochs)),
        policy,
        max_trials,
        hypermodel=hypermodel,
    )


@dataclass
class Scenario:
    name: str
    build: Callable
    policy: Policy
    #: (aborts, abort trial id, reason), checked against both the forecast and KerasTuner.
    expected: tuple[bool, str | None, str | None]
    epochs: int = 1
    max_trials: int | None = None
    inputs: int = 20

    def __str__(self) -> str:
        p = self.policy
        size = f"-size{p.max_model_size}" if p.max_model_size else ""
        return f"{self.name}-r{p.max_retries_per_trial}-c{p.max_consecutive_failed_trials}{size}"


#: A scenario of a kind the default suite already compares with a real search: with the proofs.
PROOF = pytest.mark.proof

SCENARIOS = [
    # (a) the guide's grid, plain ValueError: the defaults abort at 0009 of 12.
    pytest.param(Scenario("value_error", guide_value_error, Policy(), (True, "0009", REASON_CONSECUTIVE)), marks=PROOF),
    Scenario("value_error", guide_value_error, Policy(1, 3), (True, "0009", REASON_CONSECUTIVE)),
    pytest.param(Scenario("value_error", guide_value_error, Policy(3, 8), (False, None, None)), marks=PROOF),
    # (b) FailedTrialError: never retried.
    pytest.param(Scenario("failed_trial", guide_failed_trial, Policy(3, 8), (False, None, None)), marks=PROOF),
    Scenario("failed_trial", guide_failed_trial, Policy(3, 3), (True, "0009", REASON_CONSECUTIVE)),
    # (c) FatalError: the first oversized trial ends the search, whatever the limits.
    Scenario("fatal", guide_fatal, Policy(3, 8), (True, "0007", REASON_FATAL)),
    # KerasTuner's own max_model_size: FailedTrialError, no retries despite max_retries_per_trial=3.
    Scenario("max_model_size", guide_plain, Policy(3, 3, max_model_size=1200), (True, "0009", REASON_CONSECUTIVE)),
    # (d) NaN losses over 2 epochs: late NaN completes, early NaN and all-NaN are INVALID and retried.
    pytest.param(Scenario("nan", nan_losses, Policy(1, 8), (False, None, None), epochs=2, inputs=4), marks=PROOF),
    Scenario("nan", nan_losses, Policy(0, 2), (True, "0003", REASON_CONSECUTIVE), epochs=2, inputs=4),
    # (e) a default that cannot build, and a conditional scope the constructor builds and cannot.
    Scenario("bad_default", bad_default, Policy(), (True, None, REASON_DEFAULT_BUILD), inputs=4),
    Scenario("bad_conditional", bad_conditional, Policy(), (True, None, REASON_DEFAULT_BUILD), inputs=4),
    # A conditional space whose failing branch is not at the defaults.
    pytest.param(Scenario("conditional", conditional, Policy(1, 2), (False, None, None), inputs=4), marks=PROOF),
    Scenario("conditional", conditional, Policy(1, 1), (True, "0003", REASON_CONSECUTIVE), inputs=4),
    # A space that grows during the search, cut by max_trials (ids padded to 2 digits).
    Scenario("dynamic", dynamic, Policy(0, 3), (False, None, None), max_trials=12, inputs=4),
    # Int with log sampling: the floats GridSearch passes.
    Scenario("log_int", log_int, Policy(1, 8), (False, None, None), inputs=4),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_forecast_matches_kerastuner(scenario: Scenario, tmp_path) -> None:
    forecast = predict(scenario.name, scenario.build, scenario.policy, scenario.epochs, scenario.max_trials)
    real = run_real(scenario.build, scenario.policy, tmp_path, scenario.epochs, scenario.max_trials, scenario.inputs)
    aborts, abort_id, reason = scenario.expected

    assert (forecast.aborts, forecast.abort_id, forecast.reason) == (aborts, abort_id, reason), forecast.message
    json.dumps(forecast.to_dict())  # plain builtins

    if reason == REASON_DEFAULT_BUILD:
        # KerasTuner's constructor raised, before any trial; the forecast said so without asking for a probe.
        assert real.constructor_error is not None
        assert forecast.statuses == [] and forecast.runs == 0
        assert type(real.constructor_error).__name__ in forecast.message
        return

    assert real.constructor_error is None
    # Whether and where the search died.
    assert forecast.abort_trial == real.abort_trial
    if reason == REASON_CONSECUTIVE:
        assert isinstance(real.error, RuntimeError) and "consecutive failures" in str(real.error)
    elif reason == REASON_FATAL:
        assert isinstance(real.error, kt.errors.FatalError)
    else:
        assert real.error is None
    # Trial by trial: ids, values (KerasTuner's grid order), final status, builds.
    assert forecast.trial_ids == real.ids
    hypermodel, space = hypermodel_and_space(scenario.name, scenario.build)
    order = grid_order(space, scenario.max_trials, hypermodel=hypermodel)
    assert order[: len(real.values)] == real.values
    assert forecast.statuses == real.statuses
    assert forecast.trial_runs == real.builds
    assert forecast.runs == sum(real.builds)
    assert forecast.wasted_runs == sum(b for b, s in zip(real.builds, real.statuses) if s == FAILED)
    if not aborts:
        assert len(real.ids) == forecast.planned == len(order)


def test_guide_grid_default_policy_message() -> None:
    """DESIGN's promise: with the defaults the guide's grid aborts at 0009 of 12, and the plugin says so first."""
    forecast = predict("value_error", guide_value_error, Policy())
    assert forecast.to_dict()["abort_id"] == "0009"
    assert forecast.message == (
        "GridSearch would abort at trial 0009 of 12: 3 FAILED trials in a row (0007, 0008, 0009); "
        "raise max_consecutive_failed_trials to at least 4, or constrain units_1 and units_2"
    )
    assert forecast.statuses == [COMPLETED] * 7 + [FAILED] * 3
    # Probing the whole grid tells how high the limit must really go: 0007..0011 all fail.
    _hypermodel, space = hypermodel_and_space("value_error", guide_value_error)
    order = grid_order(space)
    full = [Policy().disposition(probe_result("value_error", guide_value_error, v, Policy(), 1)) for v in order]
    assert "raise max_consecutive_failed_trials to 6," in forecast_sequence(full, Policy(), values=order).message
    survives = forecast_sequence(full, Policy(max_consecutive_failed_trials=6), values=order)
    assert not survives.aborts and survives.statuses.count(FAILED) == 5
    # forecast_grid stops probing once the search is dead: 0010 and 0011 are never asked for.
    asked = []
    by_key = {_key(v): d for v, d in zip(order, full)}
    forecast_grid(space, lambda values: asked.append(values) or by_key[_key(values)], Policy())
    assert asked == order[:10]


def test_policy_disposition_follows_kerastuner_on_a_nan_first_epoch() -> None:
    """KerasTuner scores epoch 0 unless a later one is strictly better: [nan, finite] is INVALID, [finite, nan] completes.

    The scenario test above ran the real tuner on both cases (``nan=early``, ``nan=late``).
    """
    policy = Policy(1, 8)
    early = probe_result("nan", nan_losses, {"nan": "early"}, policy, 2)
    late = probe_result("nan", nan_losses, {"nan": "late"}, policy, 2)
    assert math.isnan(early.losses[0]) and math.isfinite(early.losses[1])
    assert math.isfinite(late.losses[0]) and math.isnan(late.losses[1])
    assert policy.disposition(early) == Disposition("retried_then_failed", 2)
    assert policy.disposition(late) == Disposition("completed", 1)


def test_grid_order_uses_kerastuner_values() -> None:
    _hypermodel, space = hypermodel_and_space("log_int", log_int)
    order = grid_order(space)
    assert order == [
        {"units": 2, "cast": False},
        {"units": 2, "cast": True},
        {"units": 4.0, "cast": False},
        {"units": 4.0, "cast": True},
        {"units": 8.0, "cast": False},
        {"units": 8.0, "cast": True},
    ]
    assert all(type(v["units"]) is float for v in order[2:])
    _hypermodel, space = hypermodel_and_space("conditional", conditional)
    assert grid_order(space) == [
        {"bias": False, "arch": "mlp"},
        {"bias": False, "arch": "wide", "width": 8},
        {"bias": False, "arch": "wide", "width": 16},
        {"bias": False, "arch": "wide", "width": 24},
        {"bias": True, "arch": "mlp"},
        {"bias": True, "arch": "wide", "width": 8},
        {"bias": True, "arch": "wide", "width": 16},
        {"bias": True, "arch": "wide", "width": 24},
    ]
    assert len(grid_order(space, max_trials=3)) == 3


def test_dynamic_space_grows_as_kerastuner_learns_it() -> None:
    hypermodel, space = hypermodel_and_space("dynamic", dynamic)
    exact = grid_order(space, hypermodel=hypermodel)
    assert len(exact) == 14
    assert exact[:3] == [
        {"num_layers": 1, "units_0": 4},
        {"num_layers": 1, "units_0": 8},
        {"num_layers": 2, "units_0": 4, "units_1": 4},
    ]
    # Registered once read, units_1 stays in every later trial (KerasTuner has no condition for it).
    assert all("units_1" in values for values in exact[2:])


def test_constructor_builds_conditional_scopes() -> None:
    hypermodel, _ = hypermodel_and_space("conditional", conditional)
    constructor = constructor_forecast(hypermodel)
    assert [hp.name for hp in constructor.hyperparameters.space] == ["bias", "arch", "width"]
    assert constructor.crash_probability == 0.0 and constructor.builds == 4  # defaults + width 8, 16, 24
    hypermodel, space = hypermodel_and_space("bad_conditional", bad_conditional)
    assert space.default_error is None  # the defaults build: only the constructor's conditional build fails
    constructor = constructor_forecast(hypermodel)
    assert constructor.crash_probability == 1.0 and constructor.hyperparameters is None
    assert constructor.scope == "arch='conv'" and constructor.error.startswith("ValueError")


class _Draw:
    """A random.Random whose every draw is ``prob``."""

    def __init__(self, prob: float) -> None:
        self.prob = prob

    def random(self) -> float:
        return self.prob


@pytest.mark.parametrize("prob,width", [(0.1, 8), (0.5, 16), (0.9, 24)])
def test_constructor_draws_conditional_values_at_random(prob, width, tmp_path, monkeypatch) -> None:
    """KerasTuner builds an inactive scope with random values, outside any try: width 24 crashes the tuner.

    KerasTuner draws with an unseeded random.Random; pinning the draw shows which width it builds.
    """
    from keras_tuner.src.engine.hyperparameters import hyperparameter

    counted = Counted(conditional_crash)
    monkeypatch.setattr(hyperparameter, "random", SimpleNamespace(Random=lambda seed=None: _Draw(prob)))
    try:
        kt.GridSearch(counted.hypermodel, objective="loss", directory=str(tmp_path), overwrite=True)
        crashed = None
    except RuntimeError as exc:
        crashed = exc
    monkeypatch.undo()
    assert counted.counts == Counter({(("arch", "mlp"),): 1, (("arch", "wide"), ("width", width)): 1})
    assert (crashed is not None) == (width == 24)

    # The forecast builds every width instead of one at random: one crash in three.
    hypermodel, space = hypermodel_and_space("conditional_crash", conditional_crash)
    constructor = constructor_forecast(hypermodel)
    assert constructor.crash_probability == pytest.approx(1 / 3)
    assert constructor.values == {"arch": "wide", "width": 24} and constructor.drawn == ["width"]
    forecast = forecast_grid(space, lambda values: Disposition("completed", 1), Policy(), hypermodel=hypermodel)
    assert not forecast.aborts and forecast.default_build_risk == pytest.approx(1 / 3)
    assert forecast.message.endswith(
        "before that, its constructor crashes with probability 33%: building arch='wide' with width drawn at "
        "random raises RuntimeError: width 24 does not fit (at width=24)"
    )


# --------------------------------------------------------------------------- random-order tuners: KerasTuner's oracle


def layer_loop(hp):
    """The distributed-tuning guide's shape, in Dense layers: a loop over ``layers`` whose every pass reads an
    activation, and "bogus" fails. KerasTuner draws ``act_2`` in every trial, also when ``layers=2`` ends the
    loop before it is read: such a trial completes, whatever ``act_2`` holds."""
    model = keras.Sequential([keras.Input((4,))])
    for i in range(hp.Int("layers", 1, 3, default=3)):
        model.add(layers.Dense(hp.Int(f"units_{i}", 2, 8, step=2), activation=hp.Choice(f"act_{i}", ["relu", "bogus"])))
    model.add(layers.Dense(1))
    model.compile(loss="mse", optimizer="sgd", run_eagerly=True)
    return model


def test_a_value_the_drawn_trial_never_reads_does_not_fail_it(tmp_path) -> None:
    """Which names a drawn trial's build reads comes from a build of its structural values
    (``layers=2`` was not planned: it is built once), so the forecast aborts at exactly the seeds where a real
    RandomSearch aborts, and a draw with ``layers=2`` keeps no ``act_2``."""
    from pathlib import Path

    from pytest_hypermodel.probe import screen
    from pytest_hypermodel.probe.prepare import PlanOptions, prepare_target
    from pytest_hypermodel.rules import culprits
    from pytest_hypermodel.rules.culprits import off_defaults
    from pytest_hypermodel.rules.forecasts.judging import predicate
    from pytest_hypermodel.rules.record import records
    from pytest_hypermodel.space.target import Target

    seeds = range(10, 22)
    pre = prepare_target(
        Target("loop", Path("loop.py"), "loop", get_hypermodel(layer_loop)),
        PlanOptions(tuner="RandomSearch", max_trials=10),
    )
    trials = [t for _, drawn in pre.draws for t in drawn]
    assert any(t["layers"] == 2 for t in trials)
    assert all(t["act_2"] == "relu" for t in trials if t["layers"] < 3)
    assert any(t["act_2"] == "bogus" for t in trials if t["layers"] == 3)
    planned = [pre.space.complete(case.values) for case in pre.plan]
    failing = [r.values for r in screen.check(pre.target.hypermodel, pre.space, planned).failures]
    cases = records(
        {"values": v, "disposition": "failed" if v in failing else "completed", "params": None if v in failing else 1}
        for v in planned
    )  # a build failure, as the cases report it
    # The space is too large to build whole: the builds without a fit are of the draws, here these seeds' own.
    drawn = _draws_for(pre, seeds)
    distinct = {culprits.key(v): v for _, trials in drawn for v in trials}  # the judge reads one build a key
    built = screen.check(pre.target.hypermodel, pre.space, list(distinct.values()), seconds=600)
    judge = predicate(cases, pre.space, built, Policy())
    driven = judge_draws(drawn, lambda v: judge(off_defaults(v, pre.space)), Policy())

    x, y = np.zeros((8, 4), "float32"), np.zeros((8, 1), "float32")
    aborted = real_aborts(layer_loop, x, y, seeds, tmp_path)
    assert aborted and driven.aborted == aborted


def _draws_for(pre, seeds):
    """The draws of ``seeds``, each unread value moved to its default, as the preflight makes them."""
    from pytest_hypermodel.probe.discovery import drop_unread

    return drop_unread(pre.target.hypermodel, pre.space, random_draws(pre.space, 10, seeds=seeds))


def _exact_abort_probability(failing: int, points: int, draws: int, limit: int) -> float:
    """Draws without repetition: the share of the orders of ``points`` (``failing`` of them failing) whose first
    ``draws`` hold ``limit`` failures in a row, counted over every placement of the failures."""
    hits = total = 0
    for places in itertools.combinations(range(points), failing):
        total += 1
        run = longest = 0
        for i in range(draws):
            run = run + 1 if i in places else 0
            longest = max(longest, run)
        hits += longest >= limit
    return hits / total


@pytest.mark.parametrize(
    "tuner",
    [
        "RandomSearch",
        pytest.param(
            "BayesianOptimization",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("sklearn") is None,
                reason="without scikit-learn BayesianOptimization cannot start (test_tuner_cannot_start.py)",
            ),
        ),
    ],
)
def test_the_random_forecast_of_the_guide_grid_is_near_the_exact_probability(tmp_path, tuner) -> None:
    """The extremes and corners over-weight the failures (2 of their 4 cases fail: it once said 51%, over the
    accepted risk); the oracle's forecast is within ten points of the exact chance, 0.29, and under the risk of 50%
    (Bayesian: its random start covers the 10 trials but 4). The builds without a fit tell the points no case runs:
    with the cases, the whole space of 12."""
    from pytest_hypermodel import preflight

    exact = _exact_abort_probability(5, 12, 10, 3)
    assert exact == pytest.approx(0.29, abs=0.01)
    x, y = np.zeros((32, 20), "float32"), np.zeros((32, 1), "float32")
    report = preflight(
        guide_grid(), x, y, epochs=1, tuner=tuner, max_trials=10, boundaries=False, rootpath=tmp_path, isolation="off"
    )
    forecast = report.forecast
    assert forecast is not None
    assert abs(forecast["abort_probability"] - exact) <= 0.10, forecast["message"]
    assert not forecast["fails_run"]
    assert "with the cases, the whole space: 5 of its 12 configurations fail" in forecast["message"]
