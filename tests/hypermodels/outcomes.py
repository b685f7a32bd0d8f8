"""One tiny real hypermodel per outcome class, for the plugin's end-to-end tests.

Each has a single hyperparameter `size` (Choice of 1 or 2 unless noted) so
that the default case is healthy and `size=2` triggers the outcome.
"""

import keras
import keras_tuner
import numpy as np
from keras import layers


def _dense(size: int) -> keras.Model:
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(size), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def healthy(hp):
    return _dense(hp.Choice("size", [1, 2]))


def failed_trial(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        raise keras_tuner.errors.FailedTrialError("size 2 is declared too large")
    return _dense(size)


def fatal(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        raise keras_tuner.errors.FatalError("size 2 must stop the search")
    return _dense(size)


def returns_none(hp):
    size = hp.Choice("size", [1, 2])
    model = _dense(size)
    if size == 2:
        return None  # forgot to return the model
    return model


def negative_units(hp):
    # Keras rejects Dense(-1): a ValueError KerasTuner would retry in vain.
    return _dense(hp.Int("size", -1, 1, step=2, default=1))


def nan_loss(hp):
    size = hp.Choice("size", [1, 2])
    model = keras.Sequential([keras.Input(shape=(4,))])
    if size == 2:
        model.add(layers.Lambda(lambda x: keras.ops.log(x - 100.0)))  # log of negatives: NaN
    model.add(layers.Dense(1))
    model.compile(loss="mse", optimizer="sgd")
    return model


def diverging(hp):
    # Plain SGD on a linear model: learning rate 3 makes the loss explode, finitely.
    learning_rate = hp.Choice("learning_rate", [0.001, 3.0])
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate))
    return model


def memory_error(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        np.empty((2**52,), dtype="float64")  # numpy raises MemoryError: 32 PiB
    return _dense(size)


def oversized(hp):
    # 2 x 3000 x 3000 weights: about 290 MB to train by the plugin's estimate.
    size = hp.Choice("size", [1, 3000])
    model = keras.Sequential([keras.Input(shape=(size,)), layers.Dense(size), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def logs_builds(hp):
    """Healthy; appends the building process's id and pinning to the file $HYPERMODEL_BUILD_LOG at every build."""
    import os

    pinned = [os.environ.get(name, "None") for name in ("CUDA_VISIBLE_DEVICES", "TF_NUM_INTRAOP_THREADS",
                                                         "OMP_NUM_THREADS")]
    with open(os.environ["HYPERMODEL_BUILD_LOG"], "a") as log:
        log.write(" ".join([str(os.getpid()), *(value or "-" for value in pinned)]) + "\n")
    return _dense(hp.Choice("size", [1, 2]))


def uncompiled(hp):
    """Never compiled (as keras_tuner.applications.HyperImageAugment returns its model): every fit fails the same way."""
    import keras

    return keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(hp.Int("units", 1, 4)),
                             keras.layers.Dense(hp.Choice("size", [1, 2]))])
