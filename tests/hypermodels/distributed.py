"""A healthy hypermodel whose trials wait for each other in KerasTuner's distributed mode."""

import os
import time
from pathlib import Path

import keras
import keras_tuner
from keras import layers


class Rendezvous(keras_tuner.HyperModel):
    """Two sizes; a distributed worker's fit waits (120 s at most) until two workers are fitting.

    KerasTuner's chief exits once no trial is running and no worker it knows of
    is left, so a worker that has not asked for its first trial yet would wait
    for a chief that is gone (keras_tuner/src/distribute/oracle_chief.py). Each
    worker touches a file named after its tuner id in $HYPERMODEL_RENDEZVOUS
    and holds its trial until both files exist: each worker then gets one of
    the two trials, whichever starts first.
    """

    def build(self, hp):
        model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(hp.Choice("size", [1, 2])), layers.Dense(1)])
        model.compile(loss="mse", optimizer="sgd")
        return model

    def fit(self, hp, model, *args, **kwargs):
        folder, tuner_id = os.environ.get("HYPERMODEL_RENDEZVOUS"), os.environ.get("KERASTUNER_TUNER_ID", "")
        if folder and tuner_id.startswith("tuner"):
            Path(folder, tuner_id).touch()
            deadline = time.monotonic() + 120
            while len(os.listdir(folder)) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
        return super().fit(hp, model, *args, **kwargs)


rendezvous = Rendezvous()
