"""A real KerasTuner search fails on the objective as the tuner's preflight says (with the proofs)."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import layers

from pytest_hypermodel import preflight


def build(hp):
    model = keras.Sequential([keras.Input(shape=(20,)), layers.Dense(hp.Int("units", 4, 64, step=4)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")  # no metrics: the logs hold loss (and val_loss with validation data)
    return model


def _data(n: int = 32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 20)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _search_error(tmp_path, objective: str, **fit) -> tuple[BaseException, list[str]]:
    tuner = kt.RandomSearch(
        build, objective=objective, max_trials=4, directory=tmp_path, project_name=objective, overwrite=True
    )
    x, y = _data()
    with pytest.raises(RuntimeError, match="consecutive failures exceeded the limit of 3") as raised:
        tuner.search(x, y, epochs=1, verbose=0, **fit)
    return raised.value, [t.message or "" for t in tuner.oracle.trials.values()]


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
def test_an_objective_the_metrics_lack_fails_every_trial_as_the_tuner_s_preflight_says(tmp_path):
    x, y = _data()
    _, messages = _search_error(tmp_path / "kt", "val_accuracy", validation_data=(x, y))
    assert messages and all("KeyError: 'val_accuracy'" in m for m in messages)  # KerasTuner's own failure

    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=4, directory=tmp_path / "p", project_name="p")
    report = preflight(
        tuner, x, y, validation_data=(x, y), epochs=1, isolation="off", boundaries=False, rootpath=tmp_path
    )
    assert not report.green
    assert {c["exception"] for c in report.cases} == {"KeyError"}
    assert {c["disposition"] for c in report.cases} == {"failed"}
    fix = (
        "Likely fix: KerasTuner's objective val_accuracy is not among the fit's logs (loss, val_loss): compile "
        "the metric it names (metrics=[...]) and log it from fit(), or give the tuner an objective the logs have"
    )
    assert all(fix in c["message"] for c in report.cases)
    assert report.forecast["fails_run"] and "make each trial's fit log the objective" in report.forecast["message"]


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
def test_a_val_objective_without_validation_data_names_the_missing_data(tmp_path):
    """KerasTuner's usual objective, val_loss, with search(x, y) and no validation data."""
    _, messages = _search_error(tmp_path / "kt", "val_loss")
    assert messages and all("KeyError: 'val_loss'" in m for m in messages)

    x, y = _data()
    report = preflight(
        build, x, y, objective="val_loss", epochs=1, isolation="off", boundaries=False, rootpath=tmp_path
    )
    assert not report.green
    assert all(
        "objective val_loss is not among the fit's logs (loss): pass validation data to the search "
        "(validation_data=, or validation_split=)" in c["message"]
        for c in report.cases
    )
    green = preflight(
        build,
        x,
        y,
        validation_data=(x, y),
        objective="val_loss",
        epochs=1,
        isolation="off",
        boundaries=False,
        rootpath=tmp_path,
    )
    assert green.green, green.reasons()
