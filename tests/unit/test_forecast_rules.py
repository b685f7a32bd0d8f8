"""The forecast's rules without a tuner: streaks, retries, fatal errors, trial ids, the best epoch, and the exact
probability that a random search aborts."""

from __future__ import annotations

import itertools
import math

import pytest

from pytest_hypermodel.rules.abort_rules import (
    COMPLETED,
    FAILED,
    FATAL,
    REASON_CONSECUTIVE,
    REASON_DEFAULT_BUILD,
    REASON_FATAL,
    abort_probability,
    failure_rates,
    forecast_sequence,
    kerastuner_best_epoch,
    kerastuner_objective_is_nan,
    trial_id,
)
from pytest_hypermodel.rules.policy import Disposition, Policy

DONE = Disposition("completed", 1)


FAIL = Disposition("failed", 1, declared=True)


RETRIED = Disposition("retried_then_failed", 3)


STOP = Disposition("fatal", 1)


def test_completed_resets_the_streak() -> None:
    forecast = forecast_sequence([FAIL, FAIL, DONE, FAIL, FAIL, DONE], Policy())
    assert not forecast.aborts and forecast.statuses == [FAILED, FAILED, COMPLETED, FAILED, FAILED, COMPLETED]
    assert forecast.runs == 6 and forecast.wasted_runs == 4
    assert "longest FAILED streak 2 < max_consecutive_failed_trials 3" in forecast.message


def test_the_trial_that_reaches_the_limit_spends_its_retries_first() -> None:
    forecast = forecast_sequence([DONE, RETRIED, RETRIED, RETRIED, DONE], Policy(2, 3))
    assert (forecast.aborts, forecast.abort_trial, forecast.reason) == (True, 3, REASON_CONSECUTIVE)
    assert forecast.trial_runs == [1, 3, 3, 3] and forecast.runs == 10 and forecast.wasted_runs == 9
    assert "3 FAILED trials in a row (0001, 0002, 0003, each run 3 times)" in forecast.message


def test_fatal_is_not_a_failed_trial_and_stops_at_once() -> None:
    forecast = forecast_sequence([FAIL, FAIL, STOP, FAIL], Policy(), values=[{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}])
    assert (forecast.abort_trial, forecast.reason) == (2, REASON_FATAL)
    assert forecast.statuses == [FAILED, FAILED, FATAL] and forecast.runs == 3 and forecast.wasted_runs == 2
    assert forecast.message.startswith("GridSearch would stop at trial 0002 of 4: a FatalError")
    assert forecast.message.endswith("fix or constrain a")


def test_default_build_dies_before_trial_zero() -> None:
    forecast = forecast_sequence([DONE, DONE], Policy(), default_error="ValueError: bad")
    assert (forecast.aborts, forecast.abort_trial, forecast.reason) == (True, None, REASON_DEFAULT_BUILD)
    assert forecast.planned == 2 and forecast.runs == 0 and "ValueError: bad" in forecast.message


def test_trial_ids_are_padded_like_kerastuner() -> None:
    assert trial_id(9) == "0009"
    assert trial_id(9, 12) == "09"
    assert trial_id(9, 100) == "009"
    forecast = forecast_sequence([FAIL] * 3, Policy(), max_trials=12)
    assert forecast.abort_id == "02"


def test_best_epoch_and_nan_objective() -> None:
    nan = math.nan
    assert kerastuner_best_epoch([3.0, 1.0, 2.0]) == 1
    assert kerastuner_best_epoch([0.1, 0.5], "max") == 1
    assert kerastuner_best_epoch([nan, 1.0, 0.5]) == 0
    assert kerastuner_objective_is_nan([nan, 1.0])
    assert not kerastuner_objective_is_nan([1.0, nan])
    assert not kerastuner_objective_is_nan([math.inf, math.inf])
    assert not kerastuner_objective_is_nan([])


def _brute_force_abort(p: float, q: float, n: int, m: int) -> float:
    total = 0.0
    for outcome in itertools.product("CFX", repeat=n):
        prob = math.prod({"C": 1 - p - q, "F": p, "X": q}[o] for o in outcome)
        streak, dies = 0, False
        for o in outcome:
            if o == "X":
                dies = True
                break
            streak = streak + 1 if o == "F" else 0
            if streak == m:
                dies = True
                break
        total += prob * dies
    return total


@pytest.mark.parametrize("p,q,n,m", [(0.3, 0.0, 7, 3), (0.5, 0.0, 8, 2), (0.2, 0.05, 6, 3), (0.9, 0.0, 5, 1)])
def test_abort_probability_is_exact(p, q, n, m) -> None:
    policy = Policy(max_consecutive_failed_trials=m)
    assert abort_probability(p, n, policy, q) == pytest.approx(_brute_force_abort(p, q, n, m), abs=1e-12)


def test_abort_probability_edges() -> None:
    policy = Policy()
    assert abort_probability(0.0, 100, policy) == 0.0
    assert abort_probability(1.0, 3, policy) == 1.0
    assert abort_probability(1.0, 2, policy) == 0.0
    assert abort_probability(0.0, 10, policy, fatal_rate=0.1) == pytest.approx(1 - 0.9**10)
    assert abort_probability(0.5, 0, policy) == 0.0
    assert abort_probability(0.2, 1000, policy) > abort_probability(0.2, 100, policy)
    with pytest.raises(ValueError):
        abort_probability(0.8, 10, policy, fatal_rate=0.5)
    assert failure_rates([DONE, FAIL, RETRIED, STOP]) == (0.5, 0.25)


def test_each_tuner_gets_the_forecast_of_its_family() -> None:
    """GridSearch walks its own order, the random oracles are driven, Hyperband and any other name are estimated;
    each answers the one protocol."""
    from pytest_hypermodel.rules.forecasts import forecast_for
    from pytest_hypermodel.rules.forecasts.driven import DrivenOracleForecast
    from pytest_hypermodel.rules.forecasts.grid import GridSearchForecast
    from pytest_hypermodel.rules.forecasts.independent import IndependentTrialsForecast

    chosen = {
        name: type(forecast_for(name))
        for name in ("GridSearch", "RandomSearch", "BayesianOptimization", "Hyperband", "MyTuner")
    }
    assert chosen == {
        "GridSearch": GridSearchForecast,
        "RandomSearch": DrivenOracleForecast,
        "BayesianOptimization": DrivenOracleForecast,
        "Hyperband": IndependentTrialsForecast,
        "MyTuner": IndependentTrialsForecast,
    }
