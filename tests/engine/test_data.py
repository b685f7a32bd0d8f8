"""Synthesized data follows the model's inputs, outputs and losses, and real fits accept it."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from pytest_hypermodel.probe.data import DataError, synthesize


def test_single_input_regression():
    model = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(2)])
    model.compile(loss="mse")
    x, y = synthesize(model, samples=16)
    assert x.shape == (16, 5) and y.shape == (16, 2) and y.dtype == np.float32
    model.fit(x, y, epochs=1, verbose=0)


def test_dict_inputs_and_multiple_outputs_with_their_losses():
    words = keras.Input(shape=(6,), dtype="int32", name="words")
    numbers = keras.Input(shape=(3,), name="numbers")
    embedded = layers.GlobalAveragePooling1D()(layers.Embedding(5, 4)(words))
    joined = layers.Concatenate()([embedded, numbers])
    outputs = {
        "kind": layers.Dense(4, activation="softmax", name="kind")(joined),
        "onehot": layers.Dense(3, activation="softmax", name="onehot")(joined),
        "flag": layers.Dense(1, activation="sigmoid", name="flag")(joined),
    }
    model = keras.Model({"words": words, "numbers": numbers}, outputs)
    model.compile(
        loss={
            "kind": "sparse_categorical_crossentropy",
            "onehot": keras.losses.CategoricalCrossentropy(),
            "flag": "binary_crossentropy",
        }
    )
    x, y = synthesize(model, samples=8)
    assert set(x) == {"words", "numbers"}
    assert x["words"].dtype == np.int32 and x["words"].max() < 5  # within the embedding's vocabulary
    assert y["kind"].shape == (8,) and y["kind"].max() < 4
    assert y["onehot"].shape == (8, 3) and set(np.unique(y["onehot"])) <= {0.0, 1.0}
    assert np.all(y["onehot"].sum(axis=1) == 1)
    assert set(np.unique(y["flag"])) <= {0.0, 1.0}
    history = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_list_outputs_follow_a_list_of_losses():
    inputs = keras.Input(shape=(2, 3))
    a = layers.Dense(5, activation="softmax")(inputs)
    b = layers.Dense(1)(layers.Flatten()(inputs))
    model = keras.Model(inputs, [a, b])
    model.compile(loss=["sparse_categorical_crossentropy", "mse"])
    x, y = synthesize(model, samples=4)
    assert x.shape == (4, 2, 3)
    assert y[0].shape == (4, 2) and y[0].dtype == np.int32
    assert y[1].shape == (4, 1)
    model.fit(x, y, epochs=1, verbose=0)


def test_a_model_without_inputs_asks_for_the_fixture():
    model = keras.Sequential([layers.Dense(2)])  # never built: no input shape
    with pytest.raises(DataError, match="override the hypermodel_data fixture"):
        synthesize(model)


def _with_input(hp):
    model = keras.Sequential([keras.Input(shape=(20,)), layers.Dense(hp.Int("units", 4, 8, step=4)), layers.Dense(1)])
    model.compile(loss="mse")
    return model


def test_an_input_shape_that_disagrees_with_the_model_s_keras_input_is_a_warning():
    """The model's own input wins, silently until now; the option is for models without keras.Input."""
    from pytest_hypermodel.probe.discovery import discover
    from pytest_hypermodel.space.target import as_hypermodel

    hypermodel = as_hypermodel(_with_input, "data.py:_with_input")
    (warning,) = discover(hypermodel, input_shapes=[(28, 28)]).warnings
    assert warning == (
        "--hypermodel-input-shape disagrees with the model's own keras.Input (28,28 given, 20 "
        "declared): the model's input is used; the option is only for models without keras.Input, "
        "so drop it or fix one of them"
    )
    assert discover(hypermodel, input_shapes=[(20,)]).warnings == ()
    assert discover(hypermodel).warnings == ()
