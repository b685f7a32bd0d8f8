"""The forecast names the tuner the user runs, and says what it approximates.

A user's tuner of another class (a ``keras_tuner.Tuner`` subclass, a RandomSearch subclass, AutoKeras's ``Greedy``)
is forecast by its own name ("StartsFromTuner would abort ..."); where its oracle is not KerasTuner's (an oracle of
its own, as AutoKeras's ``GreedyOracle``: its initial values first, then the best trial's values changed), the
forecast drives KerasTuner's random oracle in its place, and says so in the terminal's ``-v`` line (the message),
the JSON (``approximation``, ``simulated``) and the HTML report. The AutoKeras one is proved in
``tests/proofs/test_autokeras_searches.py``.
"""

from __future__ import annotations

import keras
import keras_tuner as kt
import pytest

from pytest_hypermodel.api import preflight

pytestmark = pytest.mark.usefixtures("no_memory_growth")


def build(hp):
    units = hp.Int("units", 4, 8, step=4)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    return model


class StartsFromOracle(kt.Oracle):
    """An oracle of its own, as AutoKeras's GreedyOracle begins: its initial values first, then random ones."""

    def __init__(self, initial, **kwargs):
        super().__init__(**kwargs)
        self.initial = list(initial)

    def populate_space(self, trial_id):
        if self.initial:
            return {"status": kt.engine.trial.TrialStatus.RUNNING, "values": self.initial.pop(0)}
        values = self._random_values()
        if values is None:
            return {"status": kt.engine.trial.TrialStatus.STOPPED, "values": None}
        return {"status": kt.engine.trial.TrialStatus.RUNNING, "values": values}


class StartsFromTuner(kt.Tuner):
    """A user's tuner with its own oracle."""


class MySearch(kt.RandomSearch):
    """A user's RandomSearch: its oracle is KerasTuner's own."""


class PlainTuner(kt.Tuner):
    """A user's keras_tuner.Tuner, on the oracle it is given: it searches as that oracle's tuner."""


def _own_oracle(tmp_path):
    oracle = StartsFromOracle([{"units": 8}], objective="loss", max_trials=3)
    return StartsFromTuner(oracle=oracle, hypermodel=build, directory=str(tmp_path), project_name="own")


def _subclass(tmp_path):
    return MySearch(build, objective="loss", max_trials=3, directory=str(tmp_path), project_name="sub")


def _on_random_oracle(tmp_path):
    oracle = kt.oracles.RandomSearchOracle(objective="loss", max_trials=3)
    return PlainTuner(oracle=oracle, hypermodel=build, directory=str(tmp_path), project_name="random")


def _preflight(tuner):
    return preflight(tuner, epochs=2, strategy="default", boundaries=False, rehearsal=False, isolation="off")


def test_a_tuner_with_its_own_oracle_is_named_and_its_approximation_said(tmp_path):
    report = _preflight(_own_oracle(tmp_path))
    forecast = report.forecast
    approximation = "its StartsFromOracle simulated as RandomSearch's"
    assert (forecast["tuner"], forecast["simulated"], forecast["approximation"]) == (
        "StartsFromTuner",
        "RandomSearch",
        approximation,
    )
    assert forecast["message"].startswith(
        f"StartsFromTuner would abort within 3 trials with probability 0% ±0% ({approximation}: KerasTuner's random "
        "oracle over 200 seeds, each trial judged by "
    ), forecast["message"]
    # The terminal's default line: the verdict, the tuner named; how it was computed is behind -v, in the HTML.
    assert f"{forecast['spec']}: StartsFromTuner would abort within 3 trials: 0% ±0%" in str(report), str(report)
    assert approximation.replace("'", "&#x27;") in report.html()
    # The time, in a short line; how it was computed is the JSON's and HTML's line (the terminal's under -v).
    timing = report.forecast["timing"]
    assert timing["headline"].startswith(f"{forecast['spec']}: 3 trials as small as the cases: about ")
    assert timing["headline"] in str(report) and timing["line"] not in str(report)
    assert "before the search's own epochs and data scale the fits" in timing["line"]


@pytest.mark.parametrize("make", [_subclass, _on_random_oracle], ids=["RandomSearch subclass", "RandomSearchOracle"])
def test_a_tuner_on_kerastuner_s_oracle_is_named_without_an_approximation(tmp_path, make):
    tuner = make(tmp_path)
    forecast = _preflight(tuner).forecast
    name = type(tuner).__name__
    assert (forecast["tuner"], forecast["simulated"]) == (name, "RandomSearch")
    assert "approximation" not in forecast
    assert forecast["message"].startswith(
        f"{name} would abort within 3 trials with probability 0% ±0% (KerasTuner's oracle over 200 seeds"
    ), forecast["message"]


class SeededOracle(kt.oracles.RandomSearchOracle):
    """A user's subclass of KerasTuner's oracle: the forecast drives KerasTuner's own in its place, and says so."""


@pytest.mark.parametrize(
    ("oracle", "searched_as", "own"),
    [
        (lambda: kt.oracles.GridSearchOracle(objective="loss", max_trials=3), "GridSearch", None),
        (lambda: kt.oracles.HyperbandOracle(objective="loss", max_epochs=3), "Hyperband", None),
        (lambda: SeededOracle(objective="loss", max_trials=3), "RandomSearch", "SeededOracle"),
        (lambda: StartsFromOracle([], objective="loss", max_trials=3), None, "StartsFromOracle"),
    ],
    ids=["GridSearchOracle", "HyperbandOracle", "a RandomSearchOracle subclass", "an oracle of its own"],
)
def test_a_tuner_is_searched_as_its_oracle_s_tuner(tmp_path, oracle, searched_as, own):
    from pytest_hypermodel.probe.prepare import TUNERS
    from pytest_hypermodel.space import user_tuner

    tuner = PlainTuner(oracle=oracle(), hypermodel=build, directory=str(tmp_path), project_name="p")
    described = user_tuner.describe(tuner, TUNERS)
    assert (described.name, described.tuner, described.oracle) == ("PlainTuner", searched_as, own)
