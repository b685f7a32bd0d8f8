"""Builds that keep memory from one trial to the next (as reported on KerasTuner's tracker:
https://github.com/keras-team/keras-tuner/issues/395, https://github.com/keras-team/keras-tuner/issues/873), and a
clean one."""

import keras
import numpy as np
from keras import layers

#: What ``keeps_every_model`` keeps: each model it built, with 24 MiB of its data.
KEPT = []
KEPT_BYTES = 24 * 2**20


def _dense(size):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(size), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def clean(hp):
    return _dense(hp.Choice("size", [1, 2]))


def keeps_every_model(hp):
    """Appends each model it builds, and an array of its data, to a module-level list: never freed."""
    model = _dense(hp.Choice("size", [1, 2]))
    KEPT.append((model, np.full(KEPT_BYTES // 8, 1.0)))  # written, so resident
    return model
