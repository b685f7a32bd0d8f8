"""Tuners given hyperparameters of their own, as the keras-io guide "Tailor the search space" shows.

A KerasTuner trial starts from its tuner's space: a name the tuner was given (``hyperparameters=``) keeps the
tuner's definition whatever the build declares, and with ``tune_new_entries=False`` the build's other names keep
their defaults. On 28x28 images each conv block halves the image: a fourth block has nothing left to convolve
(ValueError at build).
"""

import keras
import keras_tuner
from keras import layers

#: More blocks than this leave a 28x28 image too small for the next 3x3 convolution.
MAX_BLOCKS = 3


def _stack(hp, blocks):
    model = keras.Sequential([keras.Input((28, 28, 1))])
    for _ in range(blocks):
        model.add(layers.Conv2D(hp.Int("filters", 4, 16, step=4), 3, activation="relu"))
        model.add(layers.MaxPooling2D())
    model.add(layers.Flatten())
    model.add(layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def conv_stack(hp):
    """Up to six conv blocks: four or more fail to build."""
    return _stack(hp, hp.Int("conv_blocks", 1, 6, default=2))


def conv_stack_within(hp):
    """At most three conv blocks: every value builds."""
    return _stack(hp, hp.Int("conv_blocks", 1, MAX_BLOCKS, default=2))


def _tuner(build, hp, tune_new_entries, name, directory="tailored_search"):
    return keras_tuner.RandomSearch(
        build,
        objective="val_accuracy",
        max_trials=6,
        hyperparameters=hp,
        tune_new_entries=tune_new_entries,
        max_consecutive_failed_trials=6,
        seed=3,
        directory=directory,
        project_name=name,
    )


def blocks_fixed(directory="tailored_search"):
    """The guide's first tailoring: one value fixed (``hp.Fixed``), the rest tuned as the build declares them."""
    hp = keras_tuner.HyperParameters()
    hp.Fixed("conv_blocks", 2)
    return _tuner(conv_stack, hp, True, "blocks_fixed", directory)


def filters_only(directory="tailored_search"):
    """The guide's second: only the names given are tuned (``tune_new_entries=False``); the build's others keep
    their defaults."""
    hp = keras_tuner.HyperParameters()
    hp.Int("filters", 4, 16, step=4)
    return _tuner(conv_stack, hp, False, "filters_only", directory)


def blocks_widened(directory="tailored_search"):
    """The guide's third: a name given another range, which the search uses over the build's (here a wider one,
    whose values past ``MAX_BLOCKS`` fail)."""
    hp = keras_tuner.HyperParameters()
    hp.Int("conv_blocks", 1, 6, default=2)
    return _tuner(conv_stack_within, hp, True, "blocks_widened", directory)
