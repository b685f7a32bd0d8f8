"""The search's objective: each case's fit must log it, as KerasTuner's trial needs.

KerasTuner reads the objective from each trial's logs after the whole fit: a History without it is a KeyError, an
ordinary exception, so every trial trains, fails, and three in a row abort the search. Each test runs the real
search beside the preflight on the same code.
"""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import layers

from pytest_hypermodel import preflight
from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.engine.settings import SettingError
from pytest_hypermodel.space.target import Target

pytestmark = pytest.mark.usefixtures("no_memory_growth")


def build(hp):
    model = keras.Sequential([keras.Input(shape=(20,)), layers.Dense(hp.Int("units", 4, 64, step=4)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")  # no metrics: the logs hold loss (and val_loss with validation data)
    return model


def _data(n: int = 32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 20)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def test_synthesized_data_carries_validation_data_for_a_val_objective(tmp_path):
    options = settings.MappingSource(
        {
            "hypermodel_isolation": "off",
            "hypermodel_epochs": "1",
            "hypermodel_boundaries": "off",
            "hypermodel_objective": "val_loss",
            "hypermodel_strategy": "default",  # the synthesized data is the subject: one case shows it
        }
    )
    with Engine(settings.read(options), tmp_path) as engine:
        data = engine.run([Target("build", tmp_path / "m.py", "build", build)])
    assert {c["outcome"] for c in data["cases"]} == {"ok"}


@pytest.mark.parametrize("text", ["val_auc:best", ":max"])
def test_a_malformed_objective_is_one_line_naming_the_form(text):
    with pytest.raises(SettingError, match="give the tuner's objective as NAME or NAME:min / NAME:max"):
        settings.read(settings.MappingSource({"hypermodel_objective": text}))


class TunedBatch(kt.HyperModel):
    """keras-io's pattern: ``batch_size`` tuned in ``fit``."""

    def build(self, hp):
        return build(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 8192]), **kwargs)


def test_the_memory_estimate_uses_the_batch_size_fit_receives(tmp_path):
    """The estimate used to assume batch 32 (and 32 synthesized samples cap any real batch): a tuned batch_size
    of 8192 passed. Now the case with it is a predicted out-of-memory that names the hyperparameter."""
    x, y = _data()
    report = preflight(
        TunedBatch(),
        x,
        y,
        memory_budget="1MiB",
        epochs=1,
        isolation="off",
        boundaries=False,
        rootpath=tmp_path,
        strategy="extremes",  # the defaults and batch_size=8192 alone
    )
    by_id = {c["case.id"]: c for c in report.cases}
    assert by_id["batch_size=8192"]["outcome"] == "oom"
    assert (
        "at batch_size 8192 (the hyperparameter batch_size), over the memory budget of 1.0 MiB"
        in by_id["batch_size=8192"]["message"]
    )
    assert "Likely fix: batch_size can be 8192: remove it from the values." in by_id["batch_size=8192"]["message"]
    assert by_id["defaults"]["outcome"] == "ok"


def test_the_forecast_repeats_the_change_each_case_s_fix_asks_for_the_missing_objective(tmp_path):
    """A val objective with no validation data: each case's paragraph names the fix, the case carries that change
    as its own property (``objective_fix``), and the forecast of the search that aborts repeats it."""
    x, y = _data()
    report = preflight(
        build, x, y, objective="val_loss", epochs=1, isolation="off", boundaries=False, rootpath=tmp_path
    )
    fix = (
        "pass validation data to the search (validation_data=, or validation_split=), or give the tuner an "
        "objective the logs have (objective=; --hypermodel-objective here)"
    )
    assert report.cases and {c["disposition"] for c in report.cases} == {"failed"}
    assert all(c["objective_fix"] == fix for c in report.cases)
    assert all(
        c["message"].endswith(f"Likely fix: KerasTuner's objective val_loss is not among the fit's logs (loss): {fix}.")
        for c in report.cases
    )
    forecast = report.forecast
    assert forecast is not None and forecast["fails_run"]
    assert (
        f"make each trial's fit log the objective: {fix}, or raise max_consecutive_failed_trials"
        in (forecast["message"])
    )
