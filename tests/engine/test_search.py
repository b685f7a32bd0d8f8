"""The gated search: the policy's tuner, its exception mapping, the CLI's gate, distributed mode.

Real KerasTuner throughout, on tiny models and one epoch.
"""

from __future__ import annotations

import importlib.util
import time
from collections import Counter

import keras_tuner as kt
import numpy as np
import pytest
from conftest import HYPERMODELS
from hypermodels.guide import guide_grid

from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.rules.policy_hypermodel import PolicyHyperModel


def guide(builds: Counter, error: type[Exception] = ValueError):
    """The failed-trials guide's grid, counting builds; eager: no per-model tracing, the test stays fast."""
    return guide_grid(error, builds, run_eagerly=True)


GRID = [(u1, u2) for u1 in (10, 20, 30, 40) for u2 in (10, 20, 30)]  # GridSearch's order
OVERSIZED = {(30, 20), (30, 30), (40, 10), (40, 20), (40, 30)}


def _data(rows: int = 16, features: int = 20):
    rng = np.random.default_rng(0)
    return rng.normal(size=(rows, features)).astype("float32"), rng.random(size=(rows, 1)).astype("float32")


def _statuses(tuner) -> Counter:
    return Counter(str(t.status) for t in tuner.oracle.trials.values())


def test_tuner_gets_the_policy_arguments(tmp_path):
    policy = Policy(max_retries_per_trial=2, max_consecutive_failed_trials=5, max_model_size=10_000)
    tuner = policy.tuner(
        kt.RandomSearch,
        hypermodel=guide(Counter()),
        objective="val_loss",
        max_trials=1,
        directory=tmp_path,
        project_name="args",
    )
    assert isinstance(tuner.hypermodel, PolicyHyperModel)
    assert tuner.oracle.max_retries_per_trial == 2
    assert tuner.oracle.max_consecutive_failed_trials == 5
    assert tuner.max_model_size == 10_000
    with pytest.raises(ValueError, match="set these on the Policy"):
        policy.tuner(
            kt.RandomSearch,
            hypermodel=guide(Counter()),
            objective="val_loss",
            max_retries_per_trial=0,
            directory=tmp_path,
            project_name="conflict",
        )
    # The same value as the policy's is no conflict.
    policy.tuner(
        kt.RandomSearch,
        hypermodel=guide(Counter()),
        objective="val_loss",
        max_trials=1,
        max_model_size=10_000,
        directory=tmp_path,
        project_name="same",
    )


def _raising(exc: BaseException):
    def build_model(hp):
        hp.Choice("size", [1, 2])
        raise exc

    return build_model


@pytest.mark.parametrize(
    "exc, on, expected",
    [
        (
            ZeroDivisionError("x"),
            {"ArithmeticError": "fatal", "ZeroDivisionError": "fail_trial"},
            kt.errors.FailedTrialError,
        ),
        (ZeroDivisionError("x"), {"ArithmeticError": "fatal"}, kt.errors.FatalError),
        (ValueError("x"), {"ValueError": "retry"}, ValueError),
        (ValueError("x"), {"TypeError": "fatal"}, ValueError),
        (MemoryError(), {"oom": "fail_trial"}, kt.errors.FailedTrialError),
        (kt.errors.FailedTrialError("declared"), {"FailedTrialError": "fatal"}, kt.errors.FailedTrialError),
        (kt.errors.FatalError("declared"), {"FatalError": "fail_trial"}, kt.errors.FatalError),
    ],
    ids=["most-specific-first", "along-the-mro", "retry", "unmapped", "oom-outcome", "kt-failed-trial", "kt-fatal"],
)
def test_mapping(exc, on, expected):
    hypermodel = PolicyHyperModel(_raising(exc), Policy(on=on))
    with pytest.raises(expected) as info:
        hypermodel.build(kt.HyperParameters())
    assert type(info.value) is expected
    if expected is not type(exc):
        assert info.value.__cause__ is exc
    else:
        assert info.value is exc


@pytest.mark.parametrize(
    "on, builds_each",
    [({}, 4), ({"ValueError": "fail_trial"}, 1)],
    ids=["kerastuner-retries", "mapped-to-fail_trial"],
)
def test_builds_per_configuration(tmp_path, frozen_heap, on, builds_each):
    builds: Counter = Counter()
    policy = Policy(max_retries_per_trial=3, max_consecutive_failed_trials=8, on=on)
    tuner = policy.tuner(kt.GridSearch, hypermodel=guide(builds), objective="val_loss", directory=tmp_path)
    builds.clear()  # the tuner builds the defaults once to find the space
    x, y = _data()
    tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
    assert dict(builds) == {config: builds_each if config in OVERSIZED else 1 for config in GRID}
    assert _statuses(tuner) == {"COMPLETED": 7, "FAILED": 5}
    assert dict(tuner.hypermodel.mapped) == ({"ValueError -> fail_trial": 5} if on else {})


def test_type_error_mapped_to_fatal_stops_the_search(tmp_path, frozen_heap):
    builds: Counter = Counter()
    policy = Policy(max_retries_per_trial=3, max_consecutive_failed_trials=8, on={"TypeError": "fatal"})
    tuner = policy.tuner(kt.GridSearch, hypermodel=guide(builds, TypeError), objective="val_loss", directory=tmp_path)
    builds.clear()
    x, y = _data()
    with pytest.raises(kt.errors.FatalError, match="TypeError in build: Model too large") as info:
        tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
    assert isinstance(info.value.__cause__, TypeError)
    # The first oversized configuration is built once, and nothing after it.
    assert dict(builds) == {config: 1 for config in GRID[: GRID.index((30, 20)) + 1]}


def _outcomes_module():
    module_spec = importlib.util.spec_from_file_location("hypermodels_outcomes", HYPERMODELS / "outcomes.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.mark.filterwarnings("ignore:All-NaN:RuntimeWarning")  # KerasTuner's nanmin over the NaN trial
@pytest.mark.parametrize(
    "on, size_2_builds, status",
    [({}, 2, "FAILED"), ({"nan": "fail_trial"}, 1, "FAILED")],
    ids=["kerastuner-retries", "mapped-to-fail_trial"],
)
def test_nan_objective(tmp_path, frozen_heap, on, size_2_builds, status):
    nan_loss = _outcomes_module().nan_loss
    builds: Counter = Counter()

    def build_model(hp):
        builds[hp.Choice("size", [1, 2])] += 1
        return nan_loss(hp)

    policy = Policy(max_retries_per_trial=1, on=on)
    tuner = policy.tuner(kt.GridSearch, hypermodel=build_model, objective="val_loss", directory=tmp_path)
    builds.clear()
    x, y = _data(features=4)
    tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
    assert builds == {1: 1, 2: size_2_builds}
    assert [str(t.status) for t in tuner.oracle.trials.values()] == ["COMPLETED", status]


# --- the command line: python -m pytest_hypermodel search -------------------------------------


def test_chief_keeps_serving_after_its_last_worker_is_told_to_stop(tmp_path):
    """KerasTuner's exit condition holds inside the last worker's final CreateTrial, before it is answered."""
    from keras_tuner.src.distribute import oracle_chief

    from pytest_hypermodel.search.chief import chief_answers_last_worker

    hp = kt.HyperParameters()
    hp.Choice("size", [1])
    oracle = kt.oracles.RandomSearchOracle(objective="loss", max_trials=1, hyperparameters=hp)
    oracle._set_project_dir(str(tmp_path), "chief")
    original = oracle_chief.exit_chief
    with chief_answers_last_worker(grace=0.5):
        trial = oracle.create_trial("tuner0")
        started = time.monotonic()
        assert not oracle_chief.exit_chief(oracle)  # a trial runs: no wait
        assert time.monotonic() - started < 0.4
        oracle.end_trial(trial)
        assert oracle.create_trial("tuner0").status == "STOPPED"
        started = time.monotonic()
        assert oracle_chief.exit_chief(oracle)
        assert time.monotonic() - started >= 0.5
    assert oracle_chief.exit_chief is original
