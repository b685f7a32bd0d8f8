"""The guide's HyperRegressor through the plugin: fit() returns a dict of two metrics. With no objective named the
[health] test names the keys and the option; with ``--hypermodel-objective metric_a`` the run is green."""

from __future__ import annotations

from tests.conftest import run_preflight

REGRESSOR = """
import keras, keras_tuner, numpy as np
from keras import layers


class HyperRegressor(keras_tuner.HyperModel):
    def build(self, hp):
        model = keras.Sequential(
            [keras.Input(shape=(10,)), layers.Dense(hp.Int("units", 32, 128, 32), activation="relu"), layers.Dense(1)]
        )
        model.compile(optimizer="adam", loss="mean_squared_error")
        return model

    def fit(self, hp, model, x, y, validation_data, **kwargs):
        model.fit(x, y, **kwargs)
        x_val, y_val = validation_data
        y_pred = model.predict(x_val, verbose=0)
        return {"metric_a": -np.mean(np.abs(y_pred - y_val)), "metric_b": np.mean(np.square(y_pred - y_val))}


def search_data():
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 10)).astype("float32"), rng.random((64, 1)).astype("float32")
    return {"x": x, "y": y, "validation_data": (x, y), "epochs": 2}
"""

OPTIONS = (
    "--hypermodel", "regressor.py:HyperRegressor", "--hypermodel-search-data", "regressor.py:search_data",
    "--hypermodel-boundaries", "off", "--hypermodel-strategy", "extremes", "--hypermodel-epochs", "2",
)  # fmt: skip


def test_the_guide_s_hyper_regressor_names_its_objectives_unnamed_and_is_green_with_metric_a(pytester):
    pytester.makepyfile(regressor=REGRESSOR)
    result, cases = run_preflight(pytester, *OPTIONS, here=True)
    failed = {name for name, case in cases.items() if case.result == "failed"}
    assert failed == {"HyperRegressor[health]"}, result.stdout.str()
    health = cases["HyperRegressor[health]"].message
    assert "[objective_unnamed] HyperRegressor.fit returns a dict (metric_a, metric_b)" in health
    assert "--hypermodel-objective metric_a" in health
    assert "Expected the returned dictionary" not in result.stdout.str()

    result, cases = run_preflight(pytester, *OPTIONS, "--hypermodel-objective", "metric_a", here=True)
    assert result.ret == 0, result.stdout.str()
    assert cases and all(case.result == "passed" for case in cases.values())
