"""What a case's trial does besides passing, on real Keras and KerasTuner: the warnings it raises (collected once per
hypermodel), a callback whose ``monitor`` the logs lack, a score KerasTuner records that is not the objective, and
a failure blamed where it happens (``HyperModel.fit``, a callback, ``run_trial``), not on the build."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import layers

from pytest_hypermodel import preflight
from pytest_hypermodel.engine.engine import Engine
from tests.hypermodels.health_examples import with_unused_weight

pytestmark = pytest.mark.usefixtures("no_memory_growth")


def _data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def build(hp):
    model = keras.Sequential(
        [keras.Input(shape=(4,)), layers.Dense(hp.Int("units", 2, 4, step=2), activation="relu"), layers.Dense(1)]
    )
    model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
    return model


class ReturnsTheLoss(kt.HyperModel):
    """Returns the last training loss as a bare number: KerasTuner files it under the objective, whatever it is."""

    def build(self, hp):
        return build(hp)

    def fit(self, hp, model, *args, **kwargs):
        history = model.fit(*args, **kwargs)
        return history.history["loss"][-1]


class ReturnsTheBest(kt.HyperModel):
    """Returns the objective's best logged value: what KerasTuner would have read from the History."""

    def build(self, hp):
        return build(hp)

    def fit(self, hp, model, *args, **kwargs):
        history = model.fit(*args, **kwargs)
        return min(history.history["val_mae"])


class DictOfTheWrongValue(kt.HyperModel):
    def build(self, hp):
        return build(hp)

    def fit(self, hp, model, *args, **kwargs):
        history = model.fit(*args, **kwargs)
        return {"val_mae": history.history["val_loss"][-1]}


class FitRaises(kt.HyperModel):
    def build(self, hp):
        return build(hp)

    def fit(self, hp, model, *args, **kwargs):
        raise ValueError("the fit of this hypermodel is broken")


class RaisesAtEpochEnd(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise RuntimeError("the callback is broken")


class RunTrialRaises(kt.RandomSearch):
    def run_trial(self, trial, *args, **kwargs):
        raise ValueError("this run_trial is broken")


def _preflight(tuner, strategy="extremes", **fit):
    """The extremes where a test reads every case; ``strategy="default"`` where it reads the defaults alone."""
    x, y = _data()
    data = {"x": x, "y": y, "epochs": 2, **fit}
    return preflight(tuner, data=data, boundaries=False, strategy=strategy, isolation="off")


def _tuner(tmp_path, hypermodel, objective="loss", kind=kt.RandomSearch):
    return kind(hypermodel, objective=objective, max_trials=2, directory=tmp_path, project_name="p", overwrite=True)


def _checks(report) -> list[str]:
    return [f.check for f in Engine.trial_findings(report.cases)]


def test_an_early_stopping_monitor_the_logs_lack_is_found_with_the_key_it_meant(tmp_path):
    x, y = _data()
    stop = keras.callbacks.EarlyStopping(monitor="val_mean_absolute_error", mode="min", patience=1)
    report = _preflight(_tuner(tmp_path, build, "val_loss"), validation_data=(x, y), callbacks=[stop])
    # every case passes: Keras only warns, and the trial runs all its epochs; the finding is what makes it red
    assert {c["outcome"] for c in report.cases} == {"ok"} and not report.green
    [finding] = Engine.trial_findings(report.cases)
    assert (finding.check, finding.spec, finding.case) == ("log_key_missing", "build", "defaults")
    assert "EarlyStopping(monitor='val_mean_absolute_error')" in finding.message
    assert "never stops a trial early" in finding.message
    assert "(loss, mae, val_loss, val_mae)" in finding.message
    assert finding.fix == "monitor='val_mae' (the logged key closest to 'val_mean_absolute_error')"
    [warning] = report.data["warnings"]  # Keras's own warning, once for the hypermodel, with the first case
    assert warning["message"].startswith("Early stopping conditioned on metric `val_mean_absolute_error`")
    assert (warning["case"], warning["cases"], warning["category"]) == ("defaults", len(report.cases), "UserWarning")


def test_a_val_monitor_without_validation_data_names_the_missing_data(tmp_path):
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=1)
    report = _preflight(_tuner(tmp_path, build), "default", callbacks=[reduce])
    [finding] = Engine.trial_findings(report.cases)
    assert finding.check == "log_key_missing" and "never lowers the learning rate" in finding.message
    assert finding.fix.startswith("pass validation data to the search (validation_data=, validation_split=)")


def test_monitors_the_logs_have_give_no_finding(tmp_path):
    """Nor does a ModelCheckpoint saving every epoch: its default monitor, val_loss, is never read."""
    x, y = _data()
    stop = keras.callbacks.EarlyStopping(monitor="val_mae", mode="min", patience=1)
    every = keras.callbacks.ModelCheckpoint(str(tmp_path / "each.keras"))
    report = _preflight(_tuner(tmp_path, build, "val_mae"), "default", validation_data=(x, y), callbacks=[stop])
    assert Engine.trial_findings(report.cases) == []
    report = _preflight(_tuner(tmp_path / "c", build), "default", callbacks=[every])
    assert Engine.trial_findings(report.cases) == []


def test_a_bare_number_that_is_not_the_objective_is_found(tmp_path):
    x, y = _data()
    report = _preflight(
        _tuner(tmp_path, ReturnsTheLoss(), kt.Objective("val_mae", "min")), "default", validation_data=(x, y)
    )
    assert {c["outcome"] for c in report.cases} == {"ok"} and not report.green  # red by the finding alone
    [finding] = Engine.trial_findings(report.cases)
    assert (finding.check, finding.spec, finding.case) == ("score_not_objective", "ReturnsTheLoss", "defaults")
    assert "as the trial's val_mae in case defaults (ReturnsTheLoss.fit returned a float, the logs' loss)" in (
        finding.message
    )
    assert "ranks the trials by min val_mae on a value that is not val_mae" in finding.message
    assert finding.location is not None and finding.location[0] == __file__
    assert finding.fix.startswith("return model.fit's History from ReturnsTheLoss.fit")


def test_a_dict_whose_objective_holds_another_value_is_found(tmp_path):
    x, y = _data()
    report = _preflight(_tuner(tmp_path, DictOfTheWrongValue(), "val_mae"), "default", validation_data=(x, y))
    [finding] = Engine.trial_findings(report.cases)
    assert finding.check == "score_not_objective" and "returned a dict, the logs' val_loss" in finding.message


def test_a_number_that_is_the_objective_s_logged_value_gives_no_finding(tmp_path):
    x, y = _data()
    report = _preflight(
        _tuner(tmp_path, ReturnsTheBest(), kt.Objective("val_mae", "min")), "default", validation_data=(x, y)
    )
    assert Engine.trial_findings(report.cases) == []


def test_variables_without_gradients_are_a_warning_in_the_trial(tmp_path):
    report = _preflight(_tuner(tmp_path, with_unused_weight))
    [finding] = Engine.trial_findings(report.cases)
    assert (finding.check, finding.case) == ("warning_in_trial", "defaults")
    assert finding.message.startswith("variables of the model get no gradient from the loss")
    assert "Gradients do not exist for variables" in finding.message
    [warning] = [w for w in report.data["warnings"] if "Gradients do not exist" in w["message"]]
    assert (warning["spec"], warning["case"]) == ("with_unused_weight", "defaults")
    assert warning["cases"] == len(report.cases)  # once for the hypermodel, counted over its cases
    assert any(c.get("trial.warnings") for c in report.cases)  # each case's own, in its entry


def test_a_hypermodel_fit_that_raises_is_blamed_on_its_fit_not_the_build(tmp_path):
    report = _preflight(_tuner(tmp_path, FitRaises()))
    defaults = report.cases[0]
    assert defaults["phase"] == "fit"
    assert (
        "Likely fix: the default values already fail in FitRaises.fit, not in the build: fix FitRaises.fit"
        in (defaults["message"])
    )
    for case in report.cases:
        assert "fix the build function or the defaults" not in case["message"]
        assert "cannot be created" not in case["message"]
    assert "building the defaults raises" not in report.forecast["message"]  # the tuner's constructor never fits


def test_a_callback_that_raises_is_blamed_on_the_callback(tmp_path):
    report = _preflight(_tuner(tmp_path, build), callbacks=[RaisesAtEpochEnd()])
    defaults = report.cases[0]
    assert (defaults["phase"], defaults["failed_callback"]) == ("callback", "RaisesAtEpochEnd.on_epoch_end")
    assert "fail in the callback RaisesAtEpochEnd.on_epoch_end, not in the build" in defaults["message"]
    assert all("fix the build function" not in c["message"] for c in report.cases)


def test_a_keras_callback_that_raises_on_its_arguments_is_blamed_on_them(tmp_path):
    """Keras's EarlyStopping raises on a monitor whose direction it cannot infer: its arguments are the user's."""
    stop = keras.callbacks.EarlyStopping(monitor="val_mean_absolute_error")
    x, y = _data()
    report = _preflight(_tuner(tmp_path, build), "default", validation_data=(x, y), callbacks=[stop])
    defaults = report.cases[0]
    assert (defaults["phase"], defaults["failed_callback"]) == ("callback", "Keras's EarlyStopping.on_epoch_end")
    assert (
        "fail in Keras's callback EarlyStopping.on_epoch_end, not in the build: fix the arguments it is given"
        in defaults["message"]
    )


def test_a_run_trial_that_raises_is_blamed_on_run_trial(tmp_path):
    report = _preflight(_tuner(tmp_path, build, kind=RunTrialRaises))
    defaults = report.cases[0]
    assert defaults["phase"] == "run_trial"
    assert "fail in RunTrialRaises.run_trial, not in the build: fix RunTrialRaises.run_trial" in defaults["message"]
    assert all("fix the build function" not in c["message"] for c in report.cases)


def test_a_guide_s_hypermodel_whose_fit_crops_the_images_gives_no_finding():
    """The cheap twin of the guides' proof (``proofs/test_trial_health_searches.py``): the getting-started guide's
    HyperModel whose fit() crops the search's images, at its defaults."""
    from tests.hypermodels.guides import CroppingHyperModel

    rng = np.random.default_rng(0)
    crops = rng.random((32, 28, 28, 1)).astype("float32")
    labels = keras.utils.to_categorical(np.arange(32) % 10, 10)
    report = preflight(
        CroppingHyperModel(), crops, labels, validation_data=(crops, labels), objective="val_accuracy", epochs=2,
        strategy="default", boundaries=False, isolation="off",
    )  # fmt: skip
    assert report.green and len(report.cases) == 1 and Engine.trial_findings(report.cases) == []
