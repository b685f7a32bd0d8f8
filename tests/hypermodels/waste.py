"""Hypermodels that waste a search although every trial completes: the waste health checks' subjects.

Each builds and fits; what is wrong is what KerasTuner does with them over a search (the proofs in
tests/proofs/test_health_searches.py run the search).
"""

import keras
import keras_tuner
from keras import layers

#: The values the second declaration of ``units`` handed out, trial by trial (the proof reads them).
SECOND_UNITS: list = []


def _compiled(model, learning_rate=1e-3):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


def unused_batch_size(hp):
    """A batch size declared in build() and never passed to fit: every value trains alike."""
    batch_size = hp.Choice("batch_size", [16, 32, 64])
    units = hp.Int("units", 4, 16, step=4)
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(units, activation="relu"), layers.Dense(1)])
    model.batch_size = batch_size  # kept on the model, which fit never reads
    return _compiled(model)


class BatchSizeInFit(keras_tuner.HyperModel):
    """The same batch size, read where it matters: the HyperModel's own fit()."""

    def build(self, hp):
        hp.Choice("batch_size", [16, 32, 64])
        model = keras.Sequential(
            [keras.Input(shape=(8,)), layers.Dense(hp.Int("units", 4, 16, step=4)), layers.Dense(1)]
        )
        return _compiled(model)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.get("batch_size"), **kwargs)


def unused_when_active(hp):
    """``rate`` only counts under ``dropout=True``, and even there it is never used: the Dropout is fixed."""
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(8)])
    if hp.Boolean("dropout"):
        with hp.conditional_scope("dropout", [True]):
            hp.Float("rate", 0.1, 0.5)
        model.add(layers.Dropout(0.25))
    model.add(layers.Dense(1))
    return _compiled(model)


def used_when_active(hp):
    """``rate`` counts under ``dropout=True``, where it sets the Dropout: no waste."""
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(8)])
    if hp.Boolean("dropout"):
        with hp.conditional_scope("dropout", [True]):
            model.add(layers.Dropout(hp.Float("rate", 0.1, 0.5)))
    model.add(layers.Dense(1))
    return _compiled(model)


def seeded(hp):
    """A seed that moves only the initial weights (global seeding, nothing in the configuration): used."""
    keras.utils.set_random_seed(hp.Int("seed", 0, 3))
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4), layers.Dense(1)])
    return _compiled(model)


def scaled_in_lambda(hp):
    """A hyperparameter read inside a Lambda: no configuration shows it, so no verdict (never a false alarm)."""
    scale = hp.Float("scale", 0.5, 2.0)
    inputs = keras.Input(shape=(8,))
    outputs = layers.Dense(1)(layers.Lambda(lambda x: x * scale)(inputs))
    return _compiled(keras.Model(inputs, outputs))


def redeclared_units(hp):
    """``units`` declared twice with other ranges: KerasTuner hands the second the first's value."""
    first = hp.Int("units", 1, 4)
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(first)])
    second = hp.Int("units", 32, 64, step=8)
    SECOND_UNITS.append(second)
    model.add(layers.Dense(second))
    model.add(layers.Dense(1))
    return _compiled(model)


def learning(hp):
    """A regression whose ``learn`` choice decides whether it learns at all (a learning rate of 0)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1)])
    return _compiled(model, learning_rate=0.05 if hp.Choice("learn", ["yes", "no"]) == "yes" else 0.0)


def make_maximized_loss_tuner():
    """The search's tuner, told to maximize the validation loss."""
    return keras_tuner.GridSearch(
        learning, objective=keras_tuner.Objective("val_loss", "max"), max_trials=2, overwrite=True
    )


class TunerReadingBatchSize(keras_tuner.RandomSearch):
    """A tuner of its own whose run_trial passes the batch size that build() declares (keras-io's way to tune
    the fit's arguments): the name is used, where no build shows it."""

    def run_trial(self, trial, *args, **kwargs):
        kwargs["batch_size"] = trial.hyperparameters.get("batch_size")
        return super().run_trial(trial, *args, **kwargs)


def make_tuner_reading_batch_size():
    return TunerReadingBatchSize(unused_batch_size, objective="loss", max_trials=2, overwrite=True)
