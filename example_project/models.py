"""Hypermodels from keras-io's failed-trials guide and an article on search-space runtime errors, plus a healthy one.

Each comment says what `pytest --hypermodel example_project/models.py:NAME`
shows for it. They are tiny on purpose: the preflight fits each case for a
few steps on synthesized data.
"""

import keras
import keras_tuner
from keras import layers


def _guide_model(hp):
    # The failed-trials guide's grid: units_1 in 10..40, units_2 in 10..30.
    units_1 = hp.Int("units_1", 10, 40, step=10)
    units_2 = hp.Int("units_2", 10, 30, step=10)
    model = keras.Sequential(
        [keras.Input(shape=(20,)), layers.Dense(units_1), layers.Dense(units_2), layers.Dense(1)]
    )
    model.compile(loss="mse")
    return model


def build_model(hp):
    """Healthy: every extreme builds and fits, so every case passes."""
    units = hp.Int("units", 8, 64, step=8)
    activation = hp.Choice("activation", ["relu", "tanh"])
    dropout = hp.Boolean("dropout")
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    model = keras.Sequential([keras.Input(shape=(16,)), layers.Dense(units, activation=activation)])
    if dropout:
        model.add(layers.Dropout(0.25))
    model.add(layers.Dense(3, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def guide_value_error(hp):
    """Guide, first variant: a plain ValueError over 1200 params.

    The preflight fails units_1=40 (1261 params): KerasTuner would retry a
    ValueError, so it is a wasted, undeclared failure.
    """
    model = _guide_model(hp)
    if model.count_params() > 1200:
        raise ValueError(f"Model too large! It contains {model.count_params()} params.")
    return model


def guide_failed_trial(hp):
    """Guide, second variant: FailedTrialError over 1200 params.

    units_1=40 is a declared failure: an xfail, never retried.
    """
    model = _guide_model(hp)
    if model.count_params() > 1200:
        raise keras_tuner.errors.FailedTrialError(f"Model too large! It contains {model.count_params()} params.")
    return model


def guide_fatal(hp):
    """Guide, third variant: FatalError over 1200 params.

    units_1=40 fails: KerasTuner would stop the whole search there.
    """
    model = _guide_model(hp)
    if model.count_params() > 1200:
        raise keras_tuner.errors.FatalError(f"Model too large! It contains {model.count_params()} params.")
    return model


def negative_units(hp):
    """Runtime-errors article, example 1: units_2 can be -10.

    units_2=-10 fails with Keras's ValueError; the fix: raise min_value.
    (The article's softmax with sparse labels is kept out: one error at a time.)
    """
    model = keras.Sequential(
        [
            keras.Input(shape=(10,)),
            layers.Dense(hp.Int("units", min_value=10, max_value=100, step=10), activation="relu"),
            layers.Dense(hp.Int("units_2", min_value=-10, max_value=50, step=5), activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def large_learning_rate(hp):
    """Runtime-errors article, example 2: learning rates up to 10.0.

    The large rates make the loss explode (nan or diverged); the fix: lower
    the largest choices. SGD makes the explosion quick and deterministic.
    """
    model = keras.Sequential([keras.Input(shape=(10,)), layers.Dense(64, activation="relu"), layers.Dense(1)])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=hp.Choice("learning_rate", values=[0.01, 0.1, 1.0, 10.0])),
        loss="mse",
    )
    return model


def oversized_layers(hp):
    """Runtime-errors article, example 3: up to 10 layers of up to 2000 units.

    With --hypermodel-memory-budget the largest corners are predicted to run
    out of memory before they are fitted; units_{i} for i >= 1 only exist when
    num_layers is larger, and the preflight finds them by re-building.
    """
    num_layers = hp.Int("num_layers", min_value=1, max_value=10)
    model = keras.Sequential([keras.Input(shape=(10,))])
    for i in range(num_layers):
        model.add(layers.Dense(hp.Int(f"units_{i}", min_value=1000, max_value=2000, step=100), activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
