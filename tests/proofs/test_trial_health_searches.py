"""A real KerasTuner search on the same code does what the trial's health checks say: an EarlyStopping whose
monitor the logs lack never stops a trial, a HyperModel.fit returning a bare number has KerasTuner record it as the
objective, and a HyperModel.fit that raises fails the trials while the tuner is created as usual; and the keras-io
guides' hypermodels, as published, give none of those findings."""

from __future__ import annotations

from typing import ClassVar

import keras
import keras_tuner as kt
import numpy as np
import pytest

from pytest_hypermodel import preflight
from pytest_hypermodel.engine.engine import Engine
from tests.engine.test_trial_health import FitRaises, ReturnsTheLoss, _data, _preflight, _tuner, build

EPOCHS = 6


class CountsEpochs(keras.callbacks.Callback):
    """Counts the epochs the search's trials ran (a class attribute: KerasTuner deep-copies the callback)."""

    epochs: ClassVar[list[int]] = []

    def on_epoch_end(self, epoch, logs=None):
        type(self).epochs.append(epoch)


class RecordsLogs(keras.callbacks.Callback):
    """Each trial's last epoch's logs, in the order the trials ran."""

    logs: ClassVar[list[dict]] = []

    def on_train_end(self, logs=None):
        type(self).logs.append(dict(self.model.history.history))


def _search(tmp_path, hypermodel, objective, callbacks, max_trials=2, **fit):
    x, y = _data()
    tuner = kt.RandomSearch(
        hypermodel, objective=objective, max_trials=max_trials, seed=1, directory=tmp_path, project_name="s"
    )
    tuner.search(x, y, epochs=EPOCHS, validation_data=(x, y), callbacks=callbacks, verbose=0, **fit)
    return tuner


def test_an_early_stopping_monitor_the_logs_lack_never_stops_a_real_search_s_trials(tmp_path):
    """min_delta so large that no epoch improves: with the key the logs have, each trial stops after
    patience + 1 epochs; with the key they lack, Keras warns and every trial runs all its epochs."""
    for monitor, ran in (("val_mae", 2), ("val_mean_absolute_error", EPOCHS)):
        CountsEpochs.epochs = []
        stop = keras.callbacks.EarlyStopping(monitor=monitor, mode="min", patience=1, min_delta=1e9)
        _search(tmp_path / monitor, build, "val_loss", [stop, CountsEpochs()])
        assert len(CountsEpochs.epochs) == 2 * ran, monitor  # two trials

    x, y = _data()
    stop = keras.callbacks.EarlyStopping(monitor="val_mean_absolute_error", mode="min", patience=1, min_delta=1e9)
    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=2, directory=tmp_path / "p", project_name="p")
    report = _preflight(tuner, validation_data=(x, y), callbacks=[stop])
    [finding] = Engine.trial_findings(report.cases)
    assert finding.check == "log_key_missing" and "never stops a trial early" in finding.message


def test_a_bare_number_is_what_a_real_search_ranks_by_as_the_objective(tmp_path):
    """KerasTuner records the training loss that ReturnsTheLoss.fit returns as each trial's val_mae: no trial's
    score is a val_mae its fit logged, and the best trial is the one with the lowest training loss."""
    RecordsLogs.logs = []
    tuner = _search(tmp_path / "s", ReturnsTheLoss(), kt.Objective("val_mae", "min"), [RecordsLogs()])
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    assert len(trials) == len(RecordsLogs.logs) == 2  # units 2 and 4: the whole space
    for trial, logs in zip(trials, RecordsLogs.logs):
        assert trial.score == pytest.approx(logs["loss"][-1])
        assert all(trial.score != pytest.approx(value, rel=1e-4) for value in logs["val_mae"])
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score == min(logs["loss"][-1] for logs in RecordsLogs.logs)

    x, y = _data()
    report = _preflight(
        kt.RandomSearch(ReturnsTheLoss(), objective=kt.Objective("val_mae", "min"), max_trials=2,
                        directory=tmp_path / "p", project_name="p"),
        validation_data=(x, y),
    )  # fmt: skip
    assert [f.check for f in Engine.trial_findings(report.cases)] == ["score_not_objective"]


def test_a_hypermodel_fit_that_raises_fails_the_trials_of_a_tuner_that_is_created(tmp_path):
    """The tuner's constructor builds the defaults and never fits them: it is created, and the trials fail in
    HyperModel.fit, which is where the preflight blames it (not 'building the defaults raises')."""
    x, y = _data()
    tuner = kt.RandomSearch(FitRaises(), objective="loss", max_trials=4, directory=tmp_path, project_name="f")
    tuner.search(x, y, epochs=1, verbose=0)  # two trials (units 2 and 4), both failed: fewer than the 3 that abort
    trials = list(tuner.oracle.trials.values())
    assert trials and {t.status for t in trials} == {"FAILED"}
    assert all("the fit of this hypermodel is broken" in (t.message or "") for t in trials)

    report = _preflight(kt.RandomSearch(FitRaises(), objective="loss", max_trials=4, directory=tmp_path / "p"))
    assert "fail in FitRaises.fit, not in the build" in report.cases[0]["message"]
    assert "building the defaults raises" not in report.forecast["message"]


@pytest.mark.rehearsal  # the default: no false alarm from the rehearsal of the search either
def test_the_getting_started_guide_s_hypermodels_give_no_finding(tmp_path, capsys):
    """keras-io's getting-started guide: its build function, its HyperModel whose fit() tunes shuffle, the one whose
    fit() crops the images, and its HyperRegressor whose fit() returns a number computed after model.fit
    (KerasTuner's ``default_objective``); and the failed-trials guide's grid. With the default settings' rehearsal
    of the search: no finding of the trials' checks nor of the rehearsal's."""
    from tests.hypermodels.guides import CroppingHyperModel, MyHyperModel, build_model
    from tests.hypermodels.regressors import ScoreRegressor

    rng = np.random.default_rng(0)
    images, labels = rng.random((64, 28, 28)).astype("float32"), keras.utils.to_categorical(np.arange(64) % 10, 10)
    for hypermodel in (build_model, MyHyperModel()):
        tuner = _tuner(tmp_path / "guide", hypermodel, "val_accuracy")
        report = preflight(
            tuner,
            images,
            labels,
            validation_data=(images, labels),
            epochs=2,
            strategy="extremes",
            boundaries=False,
            isolation="off",
            verbose=True,
        )
        assert report.green and Engine.trial_findings(report.cases) == [] and report.findings == []
    crops = images[..., None]  # CroppingHyperModel's fit() crops the search's (N, 28, 28, 1) images
    report = preflight(
        CroppingHyperModel(), crops, labels, validation_data=(crops, labels), objective="val_accuracy", epochs=2,
        strategy="extremes", boundaries=False, isolation="off", verbose=True,
    )  # fmt: skip
    assert report.green and Engine.trial_findings(report.cases) == [] and report.findings == []
    from tests.hypermodels.guide import failed_trial  # the failed-trials guide: FailedTrialError over 1200 params

    rng = np.random.default_rng(0)
    wide, target = rng.normal(size=(64, 20)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    report = preflight(
        failed_trial, wide, target, epochs=2, strategy="extremes", boundaries=False, isolation="off", verbose=True
    )
    assert Engine.trial_findings(report.cases) == [] and report.findings == []
    x, y = _data()
    tuner = kt.RandomSearch(ScoreRegressor(), max_trials=2, directory=tmp_path / "r", project_name="r")
    data = {"x": x, "y": y, "epochs": 2, "validation_data": (x, y)}
    report = preflight(tuner, data=data, boundaries=False, strategy="extremes", isolation="off", verbose=True)
    assert report.green and Engine.trial_findings(report.cases) == [] and report.findings == []
    rehearsed = [line for line in capsys.readouterr().err.splitlines() if ": rehearsed " in line]
    assert len(rehearsed) == 5 and all(line.endswith(": 0 findings") for line in rehearsed), rehearsed
