"""A real KerasTuner search on the configuration whose loss spikes over a case's two batches (the getting-started
guide's ``units_0=512, dropout=True, lr=0.01`` on 256 random images, tests/hypermodels/spike.py) completes and
learns: the spike passes. So the preflight, which follows a loss that grew before it judges it
(tests/engine/test_divergence_confirmed.py), is right to call it green."""

from __future__ import annotations

import math

import keras
import keras_tuner as kt

from pytest_hypermodel.rules import outcomes
from tests.hypermodels.guides import build_model
from tests.hypermodels.spike import SPIKING, SPIKING_LR, spiking_data


def test_the_guide_s_search_at_the_spiking_configuration_completes_and_its_loss_comes_back(tmp_path):
    x, y = spiking_data()
    hp = kt.HyperParameters()
    for name, value in {**SPIKING, "lr": SPIKING_LR}.items():
        hp.Fixed(name, value)
    tuner = kt.RandomSearch(  # the guide's tuner, as published, held to that one configuration
        build_model,
        objective="val_accuracy",
        max_trials=1,
        executions_per_trial=2,
        hyperparameters=hp,
        tune_new_entries=False,
        directory=tmp_path,
        project_name="spike",
    )
    starts: list[float] = []  # each execution's first batch (before any update)
    epochs: list[list[float]] = []  # each execution's epoch losses

    def on_batch_end(batch, logs):
        if batch == 0 and len(epochs[-1]) == 0:
            starts.append(float(logs["loss"]))

    recorder = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: epochs.append([]),
        on_train_batch_end=on_batch_end,
        on_epoch_end=lambda epoch, logs: epochs[-1].append(float(logs["loss"])),
    )
    keras.utils.set_random_seed(0)
    tuner.search(x, y, epochs=3, validation_data=(x, y), callbacks=[recorder], verbose=0)

    (trial,) = tuner.oracle.trials.values()
    assert trial.status == kt.engine.trial.TrialStatus.COMPLETED
    assert trial.hyperparameters.values == {**SPIKING, "lr": SPIKING_LR}
    assert math.isfinite(trial.score)
    assert len(epochs) == 2 and all(len(losses) == 3 for losses in epochs)
    for start, losses in zip(starts, epochs, strict=True):
        assert all(math.isfinite(loss) for loss in losses)
        # the first epoch holds the spike, as the case's two batches did; the search's later batches bring it back
        assert losses[0] > outcomes.DIVERGENCE_RATIO * start, (start, losses)
        assert losses[-1] < losses[0] / outcomes.DIVERGENCE_RATIO and losses[-1] <= start, (start, losses)
