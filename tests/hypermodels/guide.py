"""The failed-trials guide's grid: units_1 in 10..40, units_2 in 10..30, too large above 1200 params."""

import keras
import keras_tuner
from keras import layers


def _model(hp):
    model = keras.Sequential(
        [keras.Input(shape=(20,)), layers.Dense(hp.Int("units_1", 10, 40, step=10)),
         layers.Dense(hp.Int("units_2", 10, 30, step=10)), layers.Dense(1)]
    )
    model.compile(loss="mse")
    return model


def failed_trial(hp):
    model = _model(hp)
    if model.count_params() > 1200:
        raise keras_tuner.errors.FailedTrialError(f"Model too large! It contains {model.count_params()} params.")
    return model
