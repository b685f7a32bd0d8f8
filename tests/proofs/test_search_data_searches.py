"""Real KerasTuner searches do with the search's data what its checks say (tests/engine/test_search_data.py):
a generator is used up by the first trial, class ids past the outputs fail every trial, and a finite dataset
shorter than steps_per_epoch times epochs runs fewer steps than asked."""

from __future__ import annotations

import keras
import keras_tuner as kt
import pytest
import tensorflow as tf

from pytest_hypermodel.probe import data as data_mod
from pytest_hypermodel.probe import search_data
from tests.engine.test_search_data import CLASSES, _arrays, classifier


def _tuner(tmp_path, name: str, max_trials: int = 6) -> kt.RandomSearch:
    return kt.RandomSearch(
        classifier, objective="loss", max_trials=max_trials, directory=tmp_path, project_name=name, seed=1
    )


def _outputs():
    return data_mod.describe_outputs(classifier(kt.HyperParameters()))


def test_a_generator_is_used_up_by_the_first_trial_and_the_search_aborts(tmp_path):
    x, y = _arrays()

    def batches():
        for start in range(0, len(x), 16):
            yield x[start : start + 16], y[start : start + 16]

    given = {"x": batches(), "epochs": 2}
    [issue] = search_data.examine(given, _outputs())
    assert issue.check == "data_used_up"
    tuner = _tuner(tmp_path, "generator")
    with pytest.raises(RuntimeError, match="consecutive failures exceeded the limit of 3"):
        tuner.search(**given, verbose=0)
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    assert trials[0].status == "COMPLETED"
    later = trials[1:]
    assert len(later) == 3 and all(t.status == "FAILED" for t in later)
    assert all("Received an empty generator" in (t.message or "") for t in later)


def test_class_ids_past_the_outputs_units_fail_every_trial(tmp_path):
    x, y = _arrays()
    labels = y + CLASSES
    [issue] = search_data.examine((x, labels), _outputs())
    assert issue.check == "labels_outside_outputs"
    tuner = _tuner(tmp_path, "labels")
    with pytest.raises(RuntimeError, match="consecutive failures exceeded the limit of 3"):
        tuner.search(x, labels, epochs=1, verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 3 and all(t.status == "FAILED" for t in trials)
    assert all("outside the valid range" in (t.message or "") for t in trials)


class _Steps(keras.callbacks.Callback):
    """Each fit's training steps, kept on the class: KerasTuner deep-copies the search's callbacks for each trial."""

    fits: list[int] = []

    def on_train_begin(self, logs=None) -> None:
        _Steps.fits.append(0)

    def on_train_batch_end(self, batch, logs=None) -> None:
        _Steps.fits[-1] += 1


@pytest.mark.parametrize(
    ("make", "fit"),
    [
        (lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)).batch(16), {"steps_per_epoch": 3, "epochs": 3}),
        (None, {"batch_size": 32, "steps_per_epoch": 3, "epochs": 2}),
    ],
    ids=["dataset", "arrays"],
)
def test_a_dataset_shorter_than_its_steps_runs_the_steps_the_finding_says(tmp_path, make, fit):
    x, y = _arrays()
    given = {"x": make(x, y), **fit} if make else {"x": x, "y": y, **fit}
    [issue] = search_data.examine(given, _outputs())
    assert issue.check == "data_too_short"
    ran, asked = (int(n) for n in issue.message.partition("Keras runs ")[2].split(" training")[0].split(" of the "))
    _Steps.fits = []
    tuner = _tuner(tmp_path, "short", max_trials=2)
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        tuner.search(**given, callbacks=[_Steps()], verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 2 and all(t.status == "COMPLETED" for t in trials)
    assert _Steps.fits == [ran, ran] and ran < asked


def test_validation_split_with_a_dataset_fails_every_trial(tmp_path):
    x, y = _arrays()
    given = {"x": tf.data.Dataset.from_tensor_slices((x, y)).batch(16), "validation_split": 0.2}
    [issue] = search_data.examine(given, _outputs())
    assert issue.check == "data_arguments"
    tuner = _tuner(tmp_path, "split")
    with pytest.raises(RuntimeError, match="consecutive failures exceeded the limit of 3"):
        tuner.search(**given, epochs=1, verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 3 and all("validation_split" in (t.message or "") for t in trials)


class _ValidationSteps(keras.callbacks.Callback):
    """The validation steps of each trial, kept on the class (KerasTuner deep-copies the callbacks)."""

    steps: list[int] = []

    def on_train_begin(self, logs=None) -> None:
        _ValidationSteps.steps.append(0)

    def on_test_batch_end(self, batch, logs=None) -> None:
        _ValidationSteps.steps[-1] += 1


def test_validation_steps_past_the_validation_data_run_the_steps_the_finding_says(tmp_path):
    x, y = _arrays()
    given = {"x": x, "y": y, "validation_data": (x, y), "batch_size": 32, "validation_steps": 3, "epochs": 2}
    [issue] = search_data.examine(given, _outputs())
    assert issue.check == "data_too_short" and "runs 4 of the 6 validation steps" in issue.message
    _ValidationSteps.steps = []
    tuner = _tuner(tmp_path, "validation", max_trials=2)
    tuner.search(**given, callbacks=[_ValidationSteps()], verbose=0)
    assert _ValidationSteps.steps == [4, 4]


def test_a_real_hyperband_search_runs_its_trials_past_a_dataset_its_epochs_argument_fits(tmp_path):
    x, y = _arrays()
    given = {"x": tf.data.Dataset.from_tensor_slices((x, y)).batch(16), "epochs": 1, "steps_per_epoch": 3}
    tuner = kt.Hyperband(classifier, objective="loss", max_epochs=3, directory=tmp_path, project_name="h", seed=1)
    [issue] = search_data.examine(given, _outputs(), max_epochs=tuner.oracle.max_epochs)
    assert "Keras runs 7 of the 9" in issue.message
    _Steps.fits = []
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        tuner.search(**given, callbacks=[_Steps()], verbose=0)
    assert 7 in _Steps.fits  # a trial of 3 epochs ran 7 of its 9 steps, though the search asked epochs=1
