"""Hypermodels and search data that trip the health checks no other file here shows on its own: the search's data
checks and the checks that watch a case's trial. docs/make_health_examples.py preflights them (with those of
waste.py, regressors.py and sequence.py) for the example lines of docs/reference/health-checks.md.

Each ``*_data()`` returns the search's data and arguments as ``tuner.search`` takes them (``preflight(data=...)``).
"""

import keras
import keras_tuner
import numpy as np
import tensorflow as tf
from keras import layers

CLASSES = 3


def classifier(hp):
    """Three classes, sparse labels: the subject of the data checks."""
    model = keras.Sequential(
        [
            keras.Input(shape=(8,)),
            layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return model


def _classes(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 8)).astype("float32"), rng.integers(0, CLASSES, size=(n,))


def _dataset() -> tf.data.Dataset:
    """Four batches of 16, no ``repeat()``."""
    return tf.data.Dataset.from_tensor_slices(_classes()).batch(16)


def generator_data() -> dict:
    """A generator as ``x``: the first trial iterates it to the end."""
    x, y = _classes()

    def batches():
        for start in range(0, len(x), 16):
            yield x[start : start + 16], y[start : start + 16]

    return {"x": batches(), "epochs": 2}


def short_dataset_data() -> dict:
    """Three epochs of three steps asked of a dataset of four batches."""
    return {"x": _dataset(), "epochs": 3, "steps_per_epoch": 3}


def split_dataset_data() -> dict:
    """``validation_split`` with a dataset, which Keras rejects."""
    return {"x": _dataset(), "validation_split": 0.2}


def labels_past_the_outputs_data() -> dict:
    """Class ids 3 to 5 for a model of three outputs."""
    x, y = _classes()
    return {"x": x, "y": y + CLASSES}


def regressor(hp):
    """A small regression that logs ``mae``: the subject of the checks that watch a trial."""
    model = keras.Sequential(
        [keras.Input(shape=(4,)), layers.Dense(hp.Int("units", 2, 4, step=2), activation="relu"), layers.Dense(1)]
    )
    model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
    return model


def _regression(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def early_stopping_on_a_missing_key_data() -> dict:
    """An EarlyStopping monitoring ``val_mean_absolute_error``, which Keras logs as ``val_mae``."""
    x, y = _regression()
    stop = keras.callbacks.EarlyStopping(monitor="val_mean_absolute_error", mode="min", patience=1)
    return {"x": x, "y": y, "validation_data": (x, y), "callbacks": [stop], "epochs": 2}


def regression_data() -> dict:
    x, y = _regression()
    return {"x": x, "y": y, "validation_data": (x, y), "epochs": 2}


class ReturnsTheLoss(keras_tuner.HyperModel):
    """Its fit() returns the last training loss as a bare number: KerasTuner files it under the objective."""

    def build(self, hp):
        return regressor(hp)

    def fit(self, hp, model, *args, **kwargs):
        history = model.fit(*args, **kwargs)
        return history.history["loss"][-1]


def make_tuner_returning_the_loss():
    """The search's tuner: its objective is ``val_mae``, which ReturnsTheLoss.fit does not return."""
    return keras_tuner.RandomSearch(
        ReturnsTheLoss(), objective=keras_tuner.Objective("val_mae", "min"), max_trials=2, overwrite=True
    )


class Unused(layers.Layer):
    """A layer with a weight its output never uses: no gradient reaches it, and the trial warns."""

    def build(self, input_shape):
        self.unused = self.add_weight(shape=(1,), name="unused")

    def call(self, x):
        return x


def with_unused_weight(hp):
    model = keras.Sequential([keras.Input(shape=(4,)), Unused(), layers.Dense(hp.Int("units", 1, 2))])
    model.compile(loss="mse", optimizer="sgd")
    return model
