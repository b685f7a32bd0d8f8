"""The guide's HyperRegressor, whose fit() returns a dict of two metrics: a real KerasTuner search runs it with the
objective named, and stops at its first trial without one, as the preflight's ``objective_unnamed`` says."""

from __future__ import annotations

import keras_tuner as kt
import numpy as np
import pytest

from pytest_hypermodel import preflight
from tests.hypermodels.regressors import HyperRegressor


def _data():
    rng = np.random.default_rng(0)
    return rng.random((64, 10)).astype("float32"), rng.random((64, 1)).astype("float32")


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
def test_keras_tuner_searches_the_hyper_regressor_with_metric_a_and_so_does_the_preflight(tmp_path):
    x, y = _data()
    tuner = kt.RandomSearch(
        HyperRegressor(), objective=kt.Objective("metric_a", "max"), max_trials=3, directory=tmp_path, project_name="a"
    )
    tuner.search(x, y, validation_data=(x, y), epochs=2, verbose=0)
    trials = tuner.oracle.get_best_trials(3)
    assert len(trials) == 3 and all(t.status == "COMPLETED" and t.score is not None for t in trials)

    report = preflight(
        HyperRegressor(), x, y, validation_data=(x, y), objective="metric_a:max", epochs=2, isolation="off",
        boundaries=False, rootpath=tmp_path,
    )  # fmt: skip
    assert report.green and report.findings == [], report.reasons


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
def test_keras_tuner_stops_the_search_without_an_objective_named_or_with_the_preflight_s_old_stand_in(tmp_path):
    """With no objective KerasTuner wants a single float; under ``loss`` (what the preflight used to assume) the
    dict must hold ``loss``. Either way the first trial stops the search (a FatalError), and the preflight names
    the dict's keys instead of either."""
    x, y = _data()
    raised = {}
    for objective in (None, "loss"):
        tuner = kt.RandomSearch(
            HyperRegressor(), objective=objective, max_trials=3, directory=tmp_path, project_name=str(objective)
        )
        with pytest.raises(kt.errors.FatalError) as error:
            tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
        raised[objective] = str(error.value)
    assert "to be a single float when `objective` is left unspecified" in raised[None]
    assert "to have the specified objective, loss, as one of the keys" in raised["loss"]

    report = preflight(
        HyperRegressor(), x, y, validation_data=(x, y), epochs=2, isolation="off", boundaries=False,
        rootpath=tmp_path,
    )  # fmt: skip
    assert {c["outcome"] for c in report.cases} == {"ok"}
    assert [f.check for f in report.findings] == ["objective_unnamed"]
    assert "a tuner with none stops the search at its first trial, FatalTypeError" in report.findings[0].message
