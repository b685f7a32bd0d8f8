"""A real KerasTuner search wastes as the waste health checks say, on the same code (with the proofs)."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from pytest_hypermodel import preflight
from tests.hypermodels import waste

OPTIONS = dict(epochs=2, isolation="off", boundaries=False, strategy="extremes")


def _data(n: int = 64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (x @ rng.normal(size=(8, 1))).astype("float32")


class StepsPerEpoch(keras.callbacks.Callback):
    """Records each trial's training batches an epoch (KerasTuner copies the callback per trial: the list is
    shared)."""

    seen: list[int] = []

    def on_train_begin(self, logs=None):
        StepsPerEpoch.seen.append(self.params["steps"])


def _checks(report) -> list[str]:
    return [f.check for f in report.findings]


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
def test_a_redeclared_name_s_second_range_is_never_searched(tmp_path):
    x, y = _data()
    waste.SECOND_UNITS.clear()
    tuner = kt.RandomSearch(
        waste.redeclared_units, objective="loss", max_trials=4, seed=1, directory=tmp_path, project_name="p"
    )
    tuner.search(x, y, epochs=1, verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert trials and all(t.status == "COMPLETED" for t in trials)
    # The second declaration asked for 32..64: every trial handed it the first's 1..4.
    assert waste.SECOND_UNITS and all(1 <= v <= 4 for v in waste.SECOND_UNITS)
    assert {t.hyperparameters.get("units") for t in trials} <= {1, 2, 3, 4}

    assert _checks(preflight(waste.redeclared_units, x, y, **OPTIONS)) == ["hyperparameter_redeclared"]


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
def test_trials_that_differ_in_an_unused_batch_size_train_alike(tmp_path):
    x, y = _data()

    def steps_by_batch_size(hypermodel, name: str) -> dict:
        StepsPerEpoch.seen = []
        # units, which is not the subject, held at one value by KerasTuner's own hyperparameters= (a Fixed that the
        # build's hp.Int then reads): the grid is the batch sizes alone.
        fixed = kt.HyperParameters()
        fixed.Fixed("units", 4)
        tuner = kt.GridSearch(
            hypermodel, objective="loss", hyperparameters=fixed, directory=tmp_path, project_name=name
        )
        tuner.search(x, y, epochs=1, verbose=0, callbacks=[StepsPerEpoch()])
        trials = list(tuner.oracle.trials.values())
        assert len(trials) == len(StepsPerEpoch.seen) == 3  # the whole grid: 3 batch sizes (units fixed at 4)
        assert {t.hyperparameters.get("units") for t in trials} == {4}
        by: dict = {}
        for trial, steps in zip(trials, StepsPerEpoch.seen):
            by.setdefault(trial.hyperparameters.get("batch_size"), set()).add(steps)
        return by

    unused = steps_by_batch_size(waste.unused_batch_size, "unused")
    assert len(unused) == 3  # the search spent trials on 16, 32 and 64 ...
    assert set().union(*unused.values()) == {2}  # ... and each trained 2 batches an epoch: Keras's default 32
    # The measure sees a batch size that reaches fit: the same space, read by the HyperModel's own fit().
    used = steps_by_batch_size(waste.BatchSizeInFit(), "used")
    assert used == {16: {4}, 32: {2}, 64: {1}}

    report = preflight(waste.unused_batch_size, x, y, **OPTIONS)
    assert _checks(report) == ["hyperparameter_unused"] and "'batch_size'" in report.findings[0].message
    assert _checks(preflight(waste.BatchSizeInFit, x, y, **OPTIONS)) == []


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
def test_a_maximized_loss_ranks_the_trial_that_learned_nothing_best(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the factory's tuner writes its project in the working directory
    x, y = _data()
    tuner = waste.make_maximized_loss_tuner()
    tuner.search(x, y, validation_data=(x, y), epochs=5, verbose=0)
    trials = list(tuner.oracle.trials.values())
    loss = {t.hyperparameters.get("learn"): t.metrics.get_last_value("val_loss") for t in trials}
    assert loss["yes"] < loss["no"]  # learning lowered the loss ...
    (best,) = tuner.oracle.get_best_trials(1)
    assert best.hyperparameters.get("learn") == "no"  # ... and KerasTuner keeps the trial that did not learn
    assert tuner.get_best_hyperparameters()[0].get("learn") == "no"

    report = preflight(waste.make_maximized_loss_tuner(), x, y, validation_data=(x, y), **OPTIONS)
    assert _checks(report) == ["objective_direction"]
    assert report.findings[0].location is not None
