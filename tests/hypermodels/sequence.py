"""Hypermodels whose every case passes alone and whose search breaks when its trials run one after another in one
process, or after the search: what the rehearsal of the search finds (``tests/engine/test_rehearsal.py``) and a
real KerasTuner search shows (``tests/proofs/test_rehearsal_searches.py``)."""

import keras
import numpy as np
from keras import layers


def data(n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def half_precision_leaks(hp):
    """The "half" value sets Keras's floatx for its own model and never sets it back: every later trial of the
    search, "full" ones included, builds a float16 model."""
    if hp.Choice("precision", ["full", "half"]) == "half":
        keras.config.set_floatx("float16")
    model = keras.Sequential([keras.Input((6,)), layers.Dense(hp.Int("units", 4, 8, step=4)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


#: Made once, at import: the same layer (and its variables) in every trial's model.
SHARED = layers.Dense(4, name="shared")


def shared_layer(hp):
    """A layer made at module level and reused: each trial's model starts from the weights the last one trained."""
    inputs = keras.Input((6,))
    hidden = layers.Dense(hp.Int("units", 4, 8, step=4))(SHARED(inputs))
    model = keras.Model(inputs, layers.Dense(1)(hidden))
    model.compile(loss="mse", optimizer="sgd")
    return model


class Net(keras.Model):
    """A subclassed model that builds its layers on its first call: a fresh one holds no variables yet."""

    def __init__(self, units: int) -> None:
        super().__init__()
        self.hidden, self.out = layers.Dense(units), layers.Dense(1)

    def call(self, x):
        return self.out(self.hidden(x))


def unbuilt_subclass(hp):
    """Each trial fits (and writes its checkpoint); get_best_models() builds the best trial's values again and loads
    that checkpoint into a model never called, which Keras refuses."""
    model = Net(hp.Int("units", 4, 8, step=4))
    model.compile(loss="mse", optimizer="sgd")
    return model


def clean(hp):
    """Nothing left behind, nothing shared: the rehearsal finds nothing."""
    model = keras.Sequential(
        [
            keras.Input((6,)),
            layers.Dense(hp.Int("units", 4, 8, step=4), activation=hp.Choice("activation", ["relu", "tanh"])),
            layers.Dense(1),
        ]
    )
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-2, sampling="log")))
    return model


def make_tuner():
    """The user's own tuner, over the leaking build, on a project of its own (which the preflight never touches)."""
    import keras_tuner

    return keras_tuner.RandomSearch(
        half_precision_leaks, objective="loss", max_trials=4, directory="sequence_search", project_name="leaks"
    )
