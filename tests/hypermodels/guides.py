"""Hypermodels from keras-io's "Getting started with KerasTuner" guide, as published (no keras.Input).

https://keras.io/guides/keras_tuner/getting_started/ : the guide fits them on MNIST (28x28 images,
one-hot labels over 10 classes); the preflight must not mistake their missing Input for a failure.
"""

import keras
import keras_tuner
from keras import layers


def build_model(hp):
    model = keras.Sequential()
    model.add(layers.Flatten())
    # Tune the number of layers.
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(
            layers.Dense(
                # Tune number of units separately.
                units=hp.Int(f"units_{i}", min_value=32, max_value=512, step=32),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add(layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class MyHyperModel(keras_tuner.HyperModel):
    def build(self, hp):
        model = keras.Sequential()
        model.add(layers.Flatten())
        model.add(
            layers.Dense(
                units=hp.Int("units", min_value=32, max_value=512, step=32),
                activation="relu",
            )
        )
        model.add(layers.Dense(10, activation="softmax"))
        model.compile(
            optimizer="adam",
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(
            *args,
            # Tune whether to shuffle the data in each epoch.
            shuffle=hp.Boolean("shuffle"),
            **kwargs,
        )


class CroppingHyperModel(keras_tuner.HyperModel):
    """The guide's HyperModel whose ``image_size`` is shared by build() (the input's shape) and fit() (which crops
    the search's images to it), and whose fit() declares ``normalize`` and ``shuffle``: its fit() only runs on
    images of the search's shape (N, 28, 28, 1), never on data synthesized from the input it builds."""

    def build(self, hp):
        size = hp.Int("image_size", 10, 28)
        inputs = keras.Input(shape=(size, size))
        hidden = layers.Dense(hp.Int("units", min_value=32, max_value=512, step=32), activation="relu")(
            layers.Flatten()(inputs))
        model = keras.Model(inputs, layers.Dense(10, activation="softmax")(hidden))
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, x, y, validation_data=None, **kwargs):
        if hp.Boolean("normalize"):
            x = layers.Normalization()(x)
        size = hp.get("image_size")
        if validation_data:
            x_val, y_val = validation_data
            validation_data = (x_val[:, :size, :size, 0], y_val)
        return model.fit(x[:, :size, :size, 0], y, shuffle=hp.Boolean("shuffle"), validation_data=validation_data,
                         **kwargs)
