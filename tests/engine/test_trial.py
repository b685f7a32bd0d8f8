"""Each case runs as KerasTuner's own trial (``run_trial``): the failures that live in the trial, not in the model,
are found after a few steps, and a real KerasTuner search on the same code fails the way the preflight said.
"""

from __future__ import annotations

import threading

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import layers

from pytest_hypermodel import preflight
from pytest_hypermodel.probe import fit as probe

#: The measure of what a trial leaves behind is off where it is not the subject (the search's arguments' test
#: counts its trials).
GROWTH_OFF = pytest.mark.usefixtures("no_memory_growth")


def _data(n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _build(hp, compiled: bool = True):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(hp.Int("units", 2, 4, step=2)), layers.Dense(1)])
    if compiled:
        model.compile(loss="mse", optimizer="sgd")
    return model


class ReturnsNothing(kt.HyperModel):
    def build(self, hp):
        return _build(hp)

    def fit(self, hp, model, *args, **kwargs):
        model.fit(*args, **kwargs)  # forgot the return


class DropsCallbacks(kt.HyperModel):
    def build(self, hp):
        return _build(hp)

    def fit(self, hp, model, x, y, callbacks=None, **kwargs):
        return model.fit(x, y, **kwargs)  # the tuner's checkpoint callback never reaches model.fit


class Locked(keras.callbacks.Callback):
    """A callback holding a lock: it cannot be deep-copied."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()


def _tuner(tmp_path, hypermodel, name, **kwargs):
    return kt.RandomSearch(hypermodel, objective="loss", max_trials=2, directory=tmp_path, project_name=name, **kwargs)


def _run(tuner, **fit):
    x, y = _data()
    return preflight(tuner, data={"x": x, "y": y, **fit}, epochs=1, boundaries=False, strategy="extremes")


def _search(tuner, **fit):
    x, y = _data()
    tuner.search(x, y, epochs=1, verbose=0, **fit)


@GROWTH_OFF
def test_a_fit_that_returns_nothing_stops_the_search_as_the_preflight_says(tmp_path):
    report = _run(_tuner(tmp_path, ReturnsNothing(), "none"))
    (case, *_) = report.failing
    assert (case["outcome"], case["exception"], case["disposition"]) == ("fatal", "FatalTypeError", "fatal")
    assert "return what model.fit returns" in case["message"]
    with pytest.raises(kt.errors.FatalTypeError, match="Did you forget to return the metrics"):
        _search(_tuner(tmp_path, ReturnsNothing(), "none_search"))


@GROWTH_OFF
def test_callbacks_that_do_not_reach_model_fit_leave_no_checkpoint_and_get_best_models_fails(tmp_path):
    report = _run(_tuner(tmp_path, DropsCallbacks(), "drops"))
    assert {c["outcome"] for c in report.cases} == {"no_checkpoint"}
    case = report.failing[0]
    assert case["disposition"] == "completed" and "get_best_models() raises FileNotFoundError" in case["message"]
    assert "callbacks=kwargs['callbacks']" in case["message"]
    tuner = _tuner(tmp_path, DropsCallbacks(), "drops_search")
    _search(tuner)  # the whole search completes...
    with pytest.raises(FileNotFoundError):
        tuner.get_best_models()  # ...and its result cannot be loaded


@GROWTH_OFF
def test_a_callback_that_cannot_be_deep_copied_stops_the_search_as_the_preflight_says(tmp_path):
    report = _run(_tuner(tmp_path, _build, "locked"), callbacks=[Locked()])
    case = report.failing[0]
    assert (case["exception"], case["disposition"]) == ("FatalValueError", "fatal")
    assert "deep-copyable" in case["message"]
    with pytest.raises(kt.errors.FatalValueError, match="deep-copyable"):
        _search(_tuner(tmp_path, _build, "locked_search"), callbacks=[Locked()])


@GROWTH_OFF
def test_the_tuner_s_own_compile_arguments_reach_each_case(tmp_path):
    """The tuner recompiles each model with its ``metrics=``: the objective it names is then logged."""

    def tuner(name, **kwargs):
        return kt.RandomSearch(_build, objective="mae", max_trials=2, directory=tmp_path, project_name=name, **kwargs)

    assert _run(tuner("metrics", metrics=["mae"])).green
    searched = tuner("metrics_search", metrics=["mae"])
    _search(searched)
    assert [t.status for t in searched.oracle.trials.values()] == ["COMPLETED", "COMPLETED"]

    report = _run(tuner("no_metrics"))  # without them the logs lack the objective, in both
    assert "KerasTuner's objective mae is not among the fit's logs" in report.failing[0]["message"]
    with pytest.raises(RuntimeError, match="consecutive failures"):
        _search(tuner("no_metrics_search", max_consecutive_failed_trials=2))


@GROWTH_OFF
def test_an_uncompiled_model_fails_as_the_tuner_s_own_compile_fails_it(tmp_path):
    """KerasTuner 1.4.8 on Keras 3 reads ``model.optimizer`` of the model it recompiles: an uncompiled model has
    none, even when the tuner is given ``optimizer=`` and ``loss=``. The case fails as the trial does."""
    uncompiled = lambda hp: _build(hp, compiled=False)  # noqa: E731
    tuner = _tuner(tmp_path, uncompiled, "compiles", optimizer="sgd", loss="mse", max_consecutive_failed_trials=2)
    try:
        _search(tuner)
        searched = None
    except RuntimeError as exc:
        searched = exc
    report = _run(_tuner(tmp_path, uncompiled, "compiles_preflight", optimizer="sgd", loss="mse"))
    assert report.green == (searched is None), report.reasons()
    if searched is not None:
        assert report.failing[0]["message"].split(" -> ")[1].split(".")[0] in str(searched)


@GROWTH_OFF
def test_the_tuner_s_project_is_not_touched(tmp_path):
    tuner = _tuner(tmp_path, _build, "untouched")
    before = sorted(p.name for p in (tmp_path / "untouched").iterdir())
    assert _run(tuner).green
    assert sorted(p.name for p in (tmp_path / "untouched").iterdir()) == before  # no trial of the preflight's


class Counts(keras.callbacks.Callback):
    """Counts the batches of each epoch, in a list the tuner's deep copies share (a class attribute)."""

    epochs: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        Counts.epochs.append(0)

    def on_train_batch_end(self, batch, logs=None):
        Counts.epochs[-1] += 1


def test_the_search_s_arguments_reach_each_case_cut_to_a_few_batches_and_the_probe_s_epochs():
    """What the user passes to tuner.search, as a dict: the callbacks and batch_size go through; 1000 examples
    become two batches, 50 epochs the probe's 2."""
    x, y = _data(1000)
    Counts.epochs.clear()
    search = {"x": x, "y": y, "validation_data": (x, y), "epochs": 50, "batch_size": 16, "callbacks": [Counts()]}
    report = preflight(_build, data=search, epochs=2, strategy="extremes", boundaries=False, isolation="off")
    assert report.green and len(report.cases) == 2
    # Two cases, and the default's further trials (memory per trial), two epochs each, two batches of 16 each.
    assert set(Counts.epochs) == {2} and len(Counts.epochs) // 2 - 2 in range(2, probe.GROWTH_TRIALS + 1)


@GROWTH_OFF
def test_data_that_does_not_fit_the_model_s_input_blames_the_data_not_a_hyperparameter(tmp_path):
    x, y = np.zeros((16, 6), "float32"), np.zeros((16, 1), "float32")  # the model takes 4 features
    report = preflight(_build, x, y, epochs=1, strategy="extremes", boundaries=False, isolation="off")
    assert len(report.failing) == 2
    for case in report.failing:
        assert "the data (x (16, 6), y (16, 1)) does not fit the model's input" in case["message"], case["message"]
        assert "max_value" not in case["message"] and "no hyperparameter is to blame" in case["message"]
    with pytest.raises(RuntimeError, match="is incompatible with the layer"):  # every trial of the search fails
        _tuner(tmp_path, _build, "mismatch", max_consecutive_failed_trials=2).search(x, y, epochs=1, verbose=0)


@GROWTH_OFF
def test_a_tuner_without_an_objective_stops_at_its_first_trial_as_the_preflight_says(tmp_path):
    """KerasTuner's default objective accepts only a float from fit(): a History stops the search."""
    report = _run(kt.RandomSearch(_build, max_trials=2, directory=tmp_path, project_name="none"))
    case = report.failing[0]
    assert (case["exception"], case["disposition"]) == ("FatalTypeError", "fatal")
    assert "give the tuner an objective its fit logs" in case["message"]
    with pytest.raises(kt.errors.FatalTypeError, match="objective` is left unspecified"):
        _search(kt.RandomSearch(_build, max_trials=2, directory=tmp_path, project_name="none_search"))
