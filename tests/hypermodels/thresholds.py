"""Spaces whose failure boundary is known by construction, for the boundary search and its repair."""

import time

import keras
from keras import layers

#: layer_size passes up to here and fails above: Int 8..64 step 8, so 40 passes and 48 fails.
UNITS_LIMIT = 40
#: The loss is NaN for a learning rate above this (log-sampled 1e-3..10).
LR_LIMIT = 0.5


def layer_size(hp):
    """A layer size threshold: a ValueError above UNITS_LIMIT units, as a too-large Dense layer would raise."""
    units = hp.Int("units", 8, 64, step=8)
    activation = hp.Choice("activation", ["relu", "tanh"])
    if units > UNITS_LIMIT:
        raise ValueError(f"{units} units is over the limit of {UNITS_LIMIT}")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(units, activation=activation), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


#: Seconds slow_layer_size takes to build at units=32, a value only the boundary search probes: longer than the
#: 10 s the boundaries of a hypermodel whose cases are quick were once given.
SLOW_SECONDS = 11


def slow_layer_size(hp):
    """layer_size, on a loaded machine: the build at units=32 (a bisection's first probe) takes SLOW_SECONDS."""
    if hp.Int("units", 8, 64, step=8) == 32:
        time.sleep(SLOW_SECONDS)
    return layer_size(hp)


def nan_above_lr(hp):
    """The loss goes NaN above LR_LIMIT: the output is scaled by NaN then, and training reports a NaN loss."""
    lr = hp.Float("lr", 1e-3, 10.0, sampling="log")
    scale = 1.0 if lr <= LR_LIMIT else float("nan")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(4), layers.Rescaling(scale), layers.Dense(1)])
    # Clipped gradients: below LR_LIMIT the loss stays finite however large the rate, so the NaN is the only failure.
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(lr, clipvalue=1e-3))
    return model


def zero_units_default(hp):
    """Defaults that fail: ``units`` starts at 0, which Dense refuses, so KerasTuner's tuner constructor,
    which builds the defaults, raises before any trial. Both declarations are on one line, as users write them."""
    model = keras.Sequential([
        keras.Input((4,)),
        layers.Dense(hp.Int("units", 0, 64, step=16, default=0), activation=hp.Choice("activation", ["relu", "tanh"])),
        layers.Dense(1),
    ])
    if model.layers[0].units < 1:  # what Dense itself raises from Keras 3.3 on (Keras 3.1 took 0 units)
        raise ValueError(f"Received an invalid value for `units`, expected a positive integer. Received: "
                         f"units={model.layers[0].units}")
    model.compile(loss="mse", optimizer="sgd")
    return model


def failing_default_choice(hp):
    """A Choice whose first value (its default) is no activation Keras knows: the defaults fail on it alone."""
    activation = hp.Choice("activation", ["swish_typo", "relu", "tanh"])
    model = keras.Sequential([keras.Input((4,)), layers.Dense(hp.Int("units", 4, 16, step=4), activation=activation),
                              layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def heads_and_units(hp):
    """Attention heads that must divide the units (values that fail inside a range): the projection is split into
    ``heads`` equal parts, which Reshape refuses when ``units % heads``. Heads 3, 5, 6 and 7 fail at most units,
    values inside the range that no extreme or corner holds (1, 2, 4 and 8 divide every multiple of 16)."""
    heads = hp.Int("heads", 1, 8)
    units = hp.Int("units", 16, 64, step=16)
    inputs = keras.Input((8,))
    x = layers.Dense(units)(inputs)
    x = layers.Reshape((heads, units // heads))(x)
    x = layers.Flatten()(layers.Dense(4, activation="relu")(x))
    model = keras.Model(inputs, layers.Dense(1)(x))
    model.compile(loss="mse", optimizer="sgd")
    return model


#: The max_model_size oversized_widths is searched under: 77% of its 1,024 configurations have more parameters.
MAX_MODEL_SIZE = 20_000


def oversized_widths(hp):
    """Two widths from 16 to 512: most of the space is over MAX_MODEL_SIZE parameters, but of its extremes and
    corners only the widest corner is (the plan's share of failures is not the space's)."""
    model = keras.Sequential([keras.Input((8,)), layers.Dense(hp.Int("width_1", 16, 512, step=16)),
                              layers.Dense(hp.Int("width_2", 16, 512, step=16)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model
