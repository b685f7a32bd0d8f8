"""The HyperRegressor of keras-io's getting-started guide, with a keras.Input: its ``fit()`` fits, then scores the
validation data itself. ``HyperRegressor`` returns a dict of two metrics (the search must name one as its
objective); ``ScoreRegressor`` returns one number to minimize (KerasTuner's ``default_objective``)."""

import keras
import keras_tuner
import numpy as np
from keras import layers


class HyperRegressor(keras_tuner.HyperModel):
    features = 10

    def build(self, hp):
        model = keras.Sequential(
            [
                keras.Input(shape=(self.features,)),
                layers.Dense(units=hp.Int("units", 32, 128, 32), activation="relu"),
                layers.Dense(units=1),
            ]
        )
        model.compile(optimizer="adam", loss="mean_squared_error")
        return model

    def fit(self, hp, model, x, y, validation_data, **kwargs):
        model.fit(x, y, **kwargs)
        x_val, y_val = validation_data
        return self.score(model.predict(x_val, verbose=0), y_val)

    def score(self, y_pred, y_val):
        return {"metric_a": -np.mean(np.abs(y_pred - y_val)), "metric_b": np.mean(np.square(y_pred - y_val))}


class ScoreRegressor(HyperRegressor):
    features = 4

    def score(self, y_pred, y_val):
        return np.mean(np.abs(y_pred - y_val))  # a single float to minimize


def search_data():
    """For ``HyperRegressor``: its features, and the validation data its ``fit()`` scores."""
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 10)).astype("float32"), rng.random((64, 1)).astype("float32")
    return {"x": x, "y": y, "validation_data": (x, y), "epochs": 2}
