"""Tiny hypermodels for the benchmarks in this folder (memory_flat.py, xdist_scaling.py).

Every hyperparameter is unconditional and every default is one of its
levels, so ``--hypermodel-strategy grid`` plans exactly the full factorial:

    grid200: units (5 choices) x activation (5) x dropout x optimizer x batchnorm -> 200 cases
    dense6:  6 two-level hyperparameters                                          ->  64 cases
    wide6:   dense6 with 256/1024-unit layers on 64 features (compute-bound fits)  ->  64 cases

grid200 and dense6 are small Dense nets on 8 features: build + the plugin's
short fit costs well under a second, so what the benchmarks see is the
per-case overhead of Keras, TensorFlow and the plugin, not arithmetic.
"""

from __future__ import annotations


def _compile(model, optimizer: str, learning_rate: float):
    import keras

    opt = keras.optimizers.Adam(learning_rate) if optimizer == "adam" else keras.optimizers.SGD(learning_rate)
    model.compile(optimizer=opt, loss="mse")
    return model


def grid200(hp):
    """5 x 5 x 2 x 2 x 2 = 200 grid cases; half use Adam (slot variables), half SGD."""
    import keras
    from keras import layers

    units = hp.Choice("units", [4, 8, 12, 16, 20])
    activation = hp.Choice("activation", ["relu", "tanh", "sigmoid", "elu", "selu"])
    dropout = hp.Boolean("dropout")
    optimizer = hp.Choice("optimizer", ["adam", "sgd"])
    batchnorm = hp.Boolean("batchnorm")

    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(units, activation=activation)])
    if batchnorm:
        model.add(layers.BatchNormalization())
    if dropout:
        model.add(layers.Dropout(0.25))
    model.add(layers.Dense(1))
    return _compile(model, optimizer, 1e-3)


def _two_layers(hp, small: int, large: int, features: int):
    """6 two-level hyperparameters (two layer widths, small or large, and four more): a grid of 64 cases."""
    import keras
    from keras import layers

    units_1 = hp.Int("units_1", small, large, step=large - small)
    units_2 = hp.Int("units_2", small, large, step=large - small)
    activation = hp.Choice("activation", ["relu", "tanh"])
    dropout = hp.Boolean("dropout")
    learning_rate = hp.Float("learning_rate", 1e-3, 1e-2, sampling="log")
    optimizer = hp.Choice("optimizer", ["adam", "sgd"])

    model = keras.Sequential([keras.Input(shape=(features,)), layers.Dense(units_1, activation=activation)])
    if dropout:
        model.add(layers.Dropout(0.25))
    model.add(layers.Dense(units_2, activation=activation))
    model.add(layers.Dense(1))
    return _compile(model, optimizer, learning_rate)


def dense6(hp):
    """6 two-level hyperparameters: a grid of 64 cases."""
    return _two_layers(hp, 4, 16, features=8)


def wide6(hp):
    """dense6 with wide layers (256 or 1024 units): with --hypermodel-samples 1024 the fit is compute-bound,
    so TensorFlow's intra-op thread pool matters (xdist_scaling.py --spec ...:wide6 --samples 1024)."""
    return _two_layers(hp, 256, 1024, features=64)
