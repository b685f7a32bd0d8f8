"""A forecast says what it is: a tuner KerasTuner cannot make here is the search's first failure, and a forecast
that stands another model in for a tuner's own oracle says it approximates. Rules only, on records made here."""

from __future__ import annotations

from pytest_hypermodel.rules.forecasts import forecast_for
from pytest_hypermodel.rules.forecasts.protocol import Probed
from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.rules.record import CaseRecord
from pytest_hypermodel.space.hyperparameters import Param, SearchSpace

SPACE = SearchSpace((Param("n", "int", 0, (0, 10), 0, 10, None, "linear"),), {"space": []})
CASES = [
    CaseRecord(values={"n": n}, kind="default" if n == 0 else "extreme", id=f"n={n}", spec="m.py:build",
               outcome="ok", disposition="COMPLETED", runs=1)
    for n in (0, 10)
]  # fmt: skip
DRAWS = [(seed, [{"n": seed % 11}, {"n": (seed + 5) % 11}]) for seed in (1, 2, 3)]


def _probed(tuner: str, cannot_start: str = "") -> Probed:
    return Probed(
        spec="m.py:build", space=SPACE, cases=CASES, downloads=[], policy=Policy(), tuner=tuner, max_trials=10,
        max_abort_risk=0.5, draws=DRAWS, cannot_start=cannot_start,
    )  # fmt: skip


def test_a_tuner_keras_tuner_cannot_make_here_is_the_search_s_first_failure() -> None:
    missing = "ImportError: Please install scikit-learn (sklearn) before using the `BayesianOptimization`"
    record = forecast_for("BayesianOptimization").forecast(_probed("BayesianOptimization", missing))
    assert record.fails_run and record.aborts and record.to_dict()["reason"] == "cannot_start"
    assert record.message.startswith(
        "BayesianOptimization cannot start here, whatever the space: KerasTuner raises ImportError where the tuner "
        "is made, before its first trial (Please install scikit-learn (sklearn) before using the "
    )
    assert "would abort" not in record.message


def test_a_forecast_that_approximates_a_tuner_s_own_oracle_says_so() -> None:
    random = forecast_for("RandomSearch").forecast(_probed("RandomSearch")).message
    bayesian = forecast_for("BayesianOptimization").forecast(_probed("BayesianOptimization")).message
    hyperband = forecast_for("Hyperband").forecast(_probed("Hyperband")).message
    assert "(KerasTuner's oracle over 3 seeds" in random and "approximation" not in random
    assert "(an approximation of BayesianOptimization: KerasTuner's random oracle" in bayesian
    assert "an approximation: Hyperband's own oracle is not simulated" in hyperband
