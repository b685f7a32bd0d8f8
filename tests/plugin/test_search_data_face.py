"""The pytest face tells the search data's findings before any case (tests/engine/test_search_data.py checks them)."""

from __future__ import annotations

from tests.conftest import run_preflight


def test_a_generator_given_as_search_data_is_said_before_any_case(pytester):
    """``--hypermodel-search-data`` returns a generator: each case gets a fresh one from the fixture and passes,
    but the search gets one for all its trials; the finding is one line, before the first case."""
    pytester.makepyfile(
        train="""
        import keras, numpy as np
        from keras import layers

        def build(hp):
            model = keras.Sequential(
                [keras.Input(shape=(8,)), layers.Dense(hp.Int("units", 4, 8, step=4)), layers.Dense(3)]
            )
            model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="sgd")
            return model

        def search_data():
            rng = np.random.default_rng(0)
            x, y = rng.normal(size=(32, 8)).astype("float32"), rng.integers(0, 3, size=(32,))
            return {"x": (batch for batch in [(x[:16], y[:16]), (x[16:], y[16:])]), "epochs": 1}
    """
    )
    result, cases = run_preflight(
        pytester,
        "-v",
        "--hypermodel",
        "train.py:build",
        "--hypermodel-search-data",
        "train.py:search_data",
        "--hypermodel-boundaries",
        "off",
        "--hypermodel-strategy",
        "extremes",
        "--hypermodel-isolation",
        "off",
    )
    lines = result.stdout.lines
    told = [
        i for i, line in enumerate(lines) if line.startswith("hypermodel: train.py:build: [data_used_up] x is a gen")
    ]
    first_case = next(i for i, line in enumerate(lines) if "train.py::build[" in line)
    assert len(told) == 1 and told[0] < first_case, result.stdout.str()
    assert "keras.utils.PyDataset" in lines[told[0]]
    assert cases
