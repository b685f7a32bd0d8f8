"""The model of keras-io's "Getting started with KerasTuner", as published: https://keras.io/guides/keras_tuner/getting_started/

It declares no keras.Input (the guide fits it on MNIST), so its preflight needs the shape of one image:
pytest --hypermodel example_project/getting_started.py:build_model --hypermodel-input-shape 28,28

``make_tuner`` returns the guide's tuner, as published: preflight it instead, and each case runs as one of
its trials, under its objective, retries and executions_per_trial (its project, my_dir/helloworld, untouched):
pytest --hypermodel example_project/getting_started.py:make_tuner --hypermodel-input-shape 28,28
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


def make_tuner():
    return keras_tuner.RandomSearch(
        hypermodel=build_model,
        objective="val_accuracy",
        max_trials=3,
        executions_per_trial=2,
        overwrite=True,
        directory="my_dir",
        project_name="helloworld",
    )
