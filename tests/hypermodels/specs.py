"""The spec forms: a HyperModel instance, a HyperModel subclass with its own fit()."""

import keras
import keras_tuner
from keras import layers


class TunedFit(keras_tuner.HyperModel):
    """Tunes the batch size in fit(): the preflight must use this fit, as KerasTuner does."""

    def build(self, hp):
        model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(hp.Int("units", 1, 4)), layers.Dense(1)])
        model.compile(loss="mse")
        return model

    def fit(self, hp, model, *args, **kwargs):
        batch_size = hp.Choice("batch_size", [8, 0])
        if batch_size == 0:
            raise keras_tuner.errors.FailedTrialError("batch_size 0 is declared invalid in fit()")
        return model.fit(*args, batch_size=batch_size, **kwargs)


tuned_fit = TunedFit()


class NeedsArguments(keras_tuner.HyperModel):
    def __init__(self, width):
        super().__init__()
        self.width = width


def two_arguments(hp, width):
    return None


not_callable = 42


def min_above_max(hp):
    hp.Int("units", min_value=50, max_value=10)
    return None


def zero_step(hp):
    hp.Int("units", 2, 8, step=0)
    return None


def redeclared(hp):
    units = hp.Int("units", 1, 4)
    hp.Int("units", 1, 64)  # a copy-paste: KerasTuner keeps the range above
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(units), layers.Dense(1)])
    model.compile(loss="mse")
    return model
