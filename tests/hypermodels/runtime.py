"""Hyperparameters read only when the model runs, as KerasTuner's own tests declare them.

KerasTuner's constructor builds the defaults without running the model, so these register at the first trial
(its fit traces ``call()``), and the search tunes them from then on.
"""

import keras
from keras import layers


class Scaled(keras.Model):
    """A subclassed model that reads ``hp`` in ``call()`` (keras-tuner's ``build_subclass_model`` test)."""

    def __init__(self, hp):
        super().__init__()
        self.hp = hp
        self.dense = layers.Dense(1)

    def call(self, x):
        scale = self.hp.Choice("scale", [1.0, 1e30])  # 1e30 overflows float32 after a step: a NaN loss
        return self.dense(x) * scale


def subclass_reads_hp_in_call(hp):
    model = Scaled(hp)
    model.compile(loss="mse", optimizer="sgd")
    return model


def lambda_reads_hp(hp):
    """A Lambda that reads ``hp`` (keras-tuner's Hyperband test), in a Sequential without an Input."""
    model = keras.Sequential([
        layers.Dense(hp.Int("units", 2, 4, step=2)),
        layers.Lambda(lambda t: t * hp.Choice("gain", [1.0, 1e30])),
        layers.Dense(1),
    ])
    model.compile(loss="mse", optimizer="sgd")
    return model
