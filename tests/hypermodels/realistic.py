"""Hypermodels written the way users write them for KerasTuner: a conv stack, a conditional_scope space, an LSTM
text model with no keras.Input."""

import keras
from keras import layers

IMAGE = 28


def conv_stack(hp):
    """Per block a valid Conv2D and a 2x2 pooling: the image shrinks below the kernel for deep, wide-kernel stacks."""
    kernel = hp.Choice("kernel_size", [3, 5, 7])
    model = keras.Sequential([keras.Input((IMAGE, IMAGE, 1))])
    for i in range(hp.Int("conv_blocks", 1, 4)):
        model.add(layers.Conv2D(hp.Int(f"filters_{i}", 4, 8, step=4), kernel, activation="relu"))
        model.add(layers.MaxPooling2D(2))
    model.add(layers.Flatten())
    model.add(layers.Dropout(hp.Float("dropout", 0.0, 0.5)))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                  loss="sparse_categorical_crossentropy")
    return model


def conv_stack_fails(values: dict) -> bool:
    """Whether conv_stack's model cannot be built with these values, by arithmetic (the truth the preflight must find)."""
    size = IMAGE
    for _ in range(values.get("conv_blocks", 1)):
        size = size - values.get("kernel_size", 3) + 1
        if size < 1:
            return True
        size //= 2
        if size < 1:
            return True
    return False


def conditional(hp):
    """KerasTuner's conditional_scope: each branch's hyperparameters exist only under its model_type."""
    model = keras.Sequential([keras.Input((8,))])
    model_type = hp.Choice("model_type", ["small", "large"])
    with hp.conditional_scope("model_type", "small"):
        if model_type == "small":
            model.add(layers.Dense(hp.Int("small_units", 4, 8), activation="relu"))
    with hp.conditional_scope("model_type", "large"):
        if model_type == "large":
            model.add(layers.Dense(hp.Int("large_units", 64, 128), activation="relu"))
            model.add(layers.Dropout(hp.Float("large_dropout", 0.0, 0.5)))
    model.add(layers.Dense(1))
    model.compile(optimizer="adam", loss="mse")
    return model


def lstm_text(hp):
    """A text classifier as in the Keras examples: token ids in, no keras.Input."""
    model = keras.Sequential()
    model.add(layers.Embedding(1000, hp.Int("embedding_dim", 8, 32, step=8)))
    model.add(layers.LSTM(hp.Int("lstm_units", 4, 16, step=4)))
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(0.2))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model



def downloads_at_defaults(hp):
    """What keras_tuner.applications.HyperEfficientNet does: every build loads ImageNet weights."""
    hp.Choice("version", ["B0", "B1"])
    keras.utils.get_file("efficientnetb0_notop.h5", "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5")


def downloads_for_one_value(hp):
    """Only one value of a Choice loads pretrained weights: that case is told so, its value not blamed."""
    weights = hp.Choice("weights", ["none", "imagenet"])
    if weights == "imagenet":
        keras.utils.get_file("weights.h5", "https://storage.googleapis.com/tensorflow/keras-applications/w.h5")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(hp.Int("units", 1, 4)), layers.Dense(1)])
    model.compile(loss="mse")
    return model
